package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

// dealFilters are the list's filters, passed to GET /v1/deals as they are:
// the API checks them and says what is wrong with a bad one.
var dealFilters = []string{"status", "overdue", "q", "customer", "pmo", "stage", "sort", "cursor"}

type dealList struct {
	store.DealPage
	Filter map[string]string
	// Next is the address of the next page, "" on the last.
	Next  string
	Sorts []string
}

func (c *Console) listDeals(ec echo.Context, s *session) error {
	q := url.Values{}
	filter := map[string]string{}
	for _, k := range dealFilters {
		if v := ec.QueryParam(k); v != "" {
			q.Set(k, v)
			filter[k] = v
		}
	}
	out := dealList{Filter: filter, Sorts: store.Sorts}
	v := &view{Title: "Deals", Section: "deals", S: s, Data: &out}
	if e := c.get(ec, s, "/v1/deals?"+q.Encode(), &out.DealPage); e != nil {
		if e.Status == http.StatusUnauthorized {
			return c.fail(ec, s, e)
		}
		// A bad filter: show the form again with what the API said.
		v.Error = e
		return c.render(ec, e.Status, "deals", v)
	}
	if out.NextCursor != "" {
		q.Set("cursor", out.NextCursor)
		out.Next = c.base + "/deals?" + q.Encode()
	}
	return c.render(ec, http.StatusOK, "deals", v)
}

// dealResponse is GET /v1/deals/{id}.
type dealResponse struct {
	deal.Deal
	TemporalURL string `json:"temporal_url"`
	Source      string `json:"source"`
	// Recording is set while the store holds changes of the deal parked.
	Recording *struct {
		Parked int       `json:"parked"`
		Since  time.Time `json:"since"`
		Error  string    `json:"error"`
	} `json:"recording"`
}

// dealView is everything the deal page shows.
type dealView struct {
	dealResponse
	Timeline []timelineItem
	Buyer    []buyerRow
	Events   []deal.Event
	// Me is the signed-in user; IsPMO, IsLead say which deal-wide forms
	// to offer (the API decides whether they may be used).
	Me     string
	IsPMO  bool
	IsLead bool
	Closed bool
	// Idem is the idempotency key of this page's forms: a form sent twice
	// (a double click, a reload) is applied once.
	Idem        string
	BuyerStages []deal.BuyerStage
	Outcomes    []deal.DealStatus
	Now         time.Time
	// Form holds the values of a form that failed, to show them again.
	Form url.Values
	// OlderEvents links to the audit trail's previous page, "" on the
	// first; NewerEvents says this is not the newest page.
	OlderEvents string
	NewerEvents bool
}

// auditPage is how many audit events the deal page shows at a time.
const auditPage = 200

// timelineItem is one milestone on the timeline.
type timelineItem struct {
	*deal.Milestone
	// Position is the milestone's place in the plan, from 1.
	Position int
	// Soon is a due time in the next 24 hours.
	Soon bool
	// CanSubmit: the user owns it (or is the PMO) and it is active: offer
	// the submit form. CanReview: the user is one of this round's
	// reviewers and has not voted: offer the review form. The API decides
	// either way; these only choose which forms to show.
	CanSubmit bool
	CanReview bool
}

// buyerRow is one of the buyer's stages beside the seller's milestones.
type buyerRow struct {
	Stage   deal.BuyerStage
	Reached bool
	Current bool
	// ExpectedBy are the milestones that expect this stage when done.
	ExpectedBy []string
	// At is when it was recorded, zero if never.
	At time.Time
}

// loadDeal reads the deal and its audit trail and builds the page.
func (c *Console) loadDeal(ec echo.Context, s *session, id string) (*dealView, *apiError) {
	var d dealView
	if e := c.get(ec, s, "/v1/deals/"+pathEscape(id), &d.dealResponse); e != nil {
		return nil, e
	}
	// The audit trail, newest first, a page at a time: events with
	// seq < before (the newest page by default).
	before := d.Seq + 1
	if v := ec.QueryParam("audit_before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, &apiError{Status: http.StatusBadRequest, Code: "bad_request",
				Message: fmt.Sprintf("audit_before must be an event number (1 or more), not %q", v)}
		}
		before = min(n, d.Seq+1)
	}
	after := max(0, before-1-auditPage)
	var evs struct {
		Events []deal.Event `json:"events"`
	}
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(auditPage)}}
	if e := c.get(ec, s, "/v1/deals/"+pathEscape(id)+"/events?"+q.Encode(), &evs); e != nil {
		return nil, e
	}
	evs.Events = slices.DeleteFunc(evs.Events, func(e deal.Event) bool { return e.Seq >= before })
	slices.Reverse(evs.Events) // newest first
	d.Events = evs.Events
	if after > 0 {
		d.OlderEvents = fmt.Sprintf("%s/deals/%s?audit_before=%d#audit", c.base, pathEscape(id), after+1)
	}
	d.NewerEvents = before <= d.Seq
	d.Me = s.User
	d.IsPMO = d.Team.PMO == s.User
	d.IsLead = d.IsPMO || d.Team.Commercial == s.User || d.Team.Solution == s.User
	d.Closed = d.Status.Final()
	d.Idem = randomToken()
	d.BuyerStages = deal.BuyerStages
	d.Outcomes = []deal.DealStatus{deal.DealWon, deal.DealLost, deal.DealCancelled}
	d.Now = c.now()
	for i, m := range d.Milestones {
		item := timelineItem{Milestone: m, Position: i + 1}
		if m.State.Open() && !m.Overdue && !m.DueAt.IsZero() && m.DueAt.Sub(d.Now) < 24*time.Hour {
			item.Soon = true
		}
		item.CanSubmit = !d.Closed && m.State == deal.StateActive && (m.Owner == s.User || d.IsPMO)
		if !d.Closed && (m.State == deal.StateSubmitted || m.State == deal.StateInReview) && slices.Contains(m.Reviewers, s.User) {
			item.CanReview = !slices.ContainsFunc(m.Reviews, func(r deal.Review) bool { return r.Round == m.Round && r.By == s.User })
		}
		d.Timeline = append(d.Timeline, item)
	}
	d.Buyer = buyerRows(&d.Deal)
	return &d, nil
}

// buyerRows lays the buyer's stages out in order, with where this deal's
// buyer stands and which milestones expect each.
func buyerRows(d *deal.Deal) []buyerRow {
	rows := make([]buyerRow, len(deal.BuyerStages))
	rank := d.BuyerStage.Rank()
	for i, st := range deal.BuyerStages {
		rows[i] = buyerRow{Stage: st, Reached: i+1 <= rank, Current: i+1 == rank}
		for _, m := range d.Milestones {
			if m.BuyerStage == st {
				rows[i].ExpectedBy = append(rows[i].ExpectedBy, m.Title)
			}
		}
		for _, b := range d.Buyer {
			if b.Stage == st {
				rows[i].At = b.At
			}
		}
	}
	return rows
}

func (c *Console) dealPage(ec echo.Context, s *session) error {
	d, e := c.loadDeal(ec, s, ec.Param("id"))
	if e != nil {
		return c.fail(ec, s, e)
	}
	return c.render(ec, http.StatusOK, "deal", &view{Title: d.Name, Section: "deals", S: s,
		Notice: notices[ec.QueryParam("done")], Data: d})
}

// dealWithError shows the deal page again after a form failed: the API's
// error at the top, with the API's status, and the form's values kept.
func (c *Console) dealWithError(ec echo.Context, s *session, failed *apiError) error {
	if failed.Status == http.StatusUnauthorized {
		return c.fail(ec, s, failed)
	}
	d, e := c.loadDeal(ec, s, ec.Param("id"))
	if e != nil {
		// The deal itself cannot be read: say why the action failed.
		return c.fail(ec, s, failed)
	}
	if f, err := ec.FormParams(); err == nil {
		d.Form = f
	}
	return c.render(ec, failed.Status, "deal", &view{Title: d.Name, Section: "deals", S: s, Error: failed, Data: d})
}
