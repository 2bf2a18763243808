package apitest

import (
	"net/http"
	"slices"

	"dealflow/workflows/deal"
)

// DealView is a deal as the API answers it.
type DealView struct {
	deal.Deal
	TemporalURL string `json:"temporal_url"`
	Source      string `json:"source"`
}

// TeamDeal is a deal of the project template for the test team: pat (PMO),
// cora (commercial), sol (solution), dina (director) and its approvers.
type TeamDeal struct {
	ID, Name, Customer string
	Amount             int
	Currency           string // the API's default when empty
	Approvers          []string
}

// StartTeamDeal starts d as pat.
func (s *Stack) StartTeamDeal(d TeamDeal) {
	s.T.Helper()
	body := map[string]any{"id": d.ID, "name": d.Name, "customer": d.Customer, "amount": d.Amount, "template": "project",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": d.Approvers, "director": "dina"}}
	if d.Currency != "" {
		body["currency"] = d.Currency
	}
	s.Must("pat", "POST", "/v1/deals", body, http.StatusCreated, nil)
}

// Deal is deal id as user sees it.
func (s *Stack) Deal(as, id string) *DealView {
	s.T.Helper()
	var d DealView
	s.Must(as, "GET", "/v1/deals/"+id, nil, http.StatusOK, &d)
	return &d
}

// Act posts an action on a deal and returns the new state, once the read
// model and the audit trail have caught up with it and agree.
func (s *Stack) Act(as, id, path string, body any) DealView {
	s.T.Helper()
	var d DealView
	s.Must(as, "POST", "/v1/deals/"+id+path, body, http.StatusOK, &d)
	s.Projected(id)
	return d
}

// Submit submits milestone key with its whole checklist and an evidence
// link, as user, like Act.
func (s *Stack) Submit(as, id, key string) DealView {
	s.T.Helper()
	d := s.Deal(as, id)
	return s.Act(as, id, "/milestones/"+key+"/submit", map[string]any{"checklist": d.Milestone(key).Checklist, "evidence": []string{"https://docs.example/" + key}})
}

// Projected waits until the read model holds the live state's version, then
// checks that it agrees with the workflow and that the audit trail holds
// every event exactly once, in order.
func (s *Stack) Projected(id string) *deal.Deal {
	s.T.Helper()
	// Under load the state query can time out and the API then answers from
	// the read model (source "read-model"); only a live answer is the
	// workflow's state to compare with.
	var live *DealView
	s.Eventually("a live answer for "+id, func() bool {
		live = s.Deal("root", id)
		return live.Source == "workflow" || live.Status.Final()
	})
	var stored *deal.Deal
	s.Eventually("projection of "+id, func() bool {
		d, err := s.Store.GetDeal(s.T.Context(), id)
		stored = d
		return err == nil && d.Version >= live.Version
	})
	if stored.Version != live.Version || stored.Status != live.Status || !slices.Equal(stored.ActiveKeys(), live.ActiveKeys()) {
		s.T.Errorf("read model v%d %s %v, workflow v%d %s %v", stored.Version, stored.Status, stored.ActiveKeys(), live.Version, live.Status, live.ActiveKeys())
	}
	events := s.Events(id)
	if int64(len(events)) != live.Seq {
		s.T.Errorf("audit trail has %d events, the workflow %d", len(events), live.Seq)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			s.T.Fatalf("audit event %d has seq %d", i, e.Seq)
		}
	}
	return stored
}

// Events is deal id's audit trail as the API answers it (root asking).
func (s *Stack) Events(id string) []deal.Event {
	s.T.Helper()
	var out struct {
		Events []deal.Event `json:"events"`
	}
	s.Must("root", "GET", "/v1/deals/"+id+"/events?limit=1000", nil, http.StatusOK, &out)
	return out.Events
}

// Intact checks that deal id survived whatever was sent to it: a live
// answer, a further action taken, the read model equal to the workflow, the
// audit trail complete and every notification queued once.
func (s *Stack) Intact(id string) {
	s.T.Helper()
	d := s.Deal("root", id)
	if d.Source != "workflow" && !d.Status.Final() {
		s.T.Fatalf("%s answers from %s, not its workflow", id, d.Source)
	}
	if !d.Status.Final() {
		next := deal.BuyerContactAdded
		if d.BuyerStage == next {
			next = deal.BuyerMetNonDecisionMaker
		}
		s.Act("cora", id, "/buyer-stage", map[string]any{"stage": next, "note": "still working"})
	}
	s.Projected(id)
	s.OutboxComplete(id)
}

// OutboxComplete checks that every recipient of every audit event has one
// outbox row, that nothing else is queued for the deal, and that the store
// parked none of its changes.
func (s *Stack) OutboxComplete(id string) {
	s.T.Helper()
	want := s.Count(`SELECT count(DISTINCT (seq, r)) FROM audit_events, unnest(notify) AS r
		WHERE deal_id = $1 AND r <> ''`, id)
	if got := s.Count(`SELECT count(*) FROM outbox WHERE deal_id = $1`, id); got != want {
		s.T.Errorf("%s: %d outbox rows for %d notified recipients", id, got, want)
	}
	if parked := s.Count(`SELECT count(*) FROM parked_changes WHERE deal_id = $1`, id); parked != 0 {
		s.T.Errorf("%s: %d changes parked: the store refused what the deal accepted", id, parked)
	}
}

// Count runs a query for one number (a count) on the stack's database.
func (s *Stack) Count(query string, args ...any) int {
	s.T.Helper()
	var n int
	if err := s.Store.DB().QueryRowContext(s.T.Context(), query, args...).Scan(&n); err != nil {
		s.T.Fatal(err)
	}
	return n
}
