package store_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

// tableCounts is a fingerprint of everything RecordChange writes.
func tableCounts(t *testing.T, s *store.Store) [4]int {
	return [4]int{
		count(t, s, `SELECT count(*) FROM deals`),
		count(t, s, `SELECT count(*) FROM milestones`),
		count(t, s, `SELECT count(*) FROM audit_events`),
		count(t, s, `SELECT count(*) FROM outbox`),
	}
}

func TestRecordChangeIsIdempotent(t *testing.T) {
	s := newStore(t)
	d, evs := newDeal(t, "acme-1", t0)
	record(t, s, d, evs)
	first := tableCounts(t, s)
	if first != [4]int{1, 6, len(evs), 1} { // deal_started (no recipients) + prospect activated (carol)
		t.Fatalf("after first call: deals, milestones, events, outbox = %v", first)
	}
	var updated time.Time
	if err := s.DB().QueryRowContext(t.Context(), `SELECT updated_at FROM deals`).Scan(&updated); err != nil {
		t.Fatal(err)
	}

	record(t, s, d, evs)
	if again := tableCounts(t, s); again != first {
		t.Errorf("second identical call changed counts: %v → %v", first, again)
	}
	got, err := s.GetDeal(t.Context(), "acme-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != d.Version || got.Name != d.Name || len(got.Milestones) != 6 || got.Milestones[0].State != deal.StateActive {
		t.Errorf("GetDeal = version %d, name %q, %d milestones", got.Version, got.Name, len(got.Milestones))
	}
	if !got.StartedAt.Equal(t0) {
		t.Errorf("started_at %v, want %v", got.StartedAt, t0)
	}
}

func TestRecordChangeIgnoresOlderSnapshots(t *testing.T) {
	s := newStore(t)
	d, evs1 := newDeal(t, "acme-2", t0)
	v1 := clone(t, d)
	record(t, s, d, evs1)

	evs2 := submit(t, d, "prospect", "carol", t0.Add(time.Hour))
	record(t, s, d, evs2)

	// A retried activity delivers the first change again, after the second.
	if err := s.RecordChange(t.Context(), v1, evs1); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDeal(t.Context(), "acme-2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != d.Version || got.Milestone("prospect").State != deal.StateDone {
		t.Errorf("stored version %d (prospect %s), want %d with prospect done", got.Version, got.Milestone("prospect").State, d.Version)
	}
	var state string
	var stage []byte
	if err := s.DB().QueryRowContext(t.Context(), `SELECT m.state, d.stage::text FROM milestones m JOIN deals d ON d.id = m.deal_id WHERE m.key = 'prospect'`).Scan(&state, &stage); err != nil {
		t.Fatal(err)
	}
	if state != "done" || string(stage) != "{needs-analysis}" {
		t.Errorf("milestone row state %q, deal stage %s: the older snapshot overwrote the projection", state, stage)
	}
	if n := count(t, s, `SELECT count(*) FROM audit_events WHERE deal_id = 'acme-2'`); n != len(evs1)+len(evs2) {
		t.Errorf("%d audit events, want %d", n, len(evs1)+len(evs2))
	}

	// Same version again (not newer) is ignored too.
	same := clone(t, d)
	same.Name = "renamed without a new version"
	record(t, s, same, nil)
	if got, _ := s.GetDeal(t.Context(), "acme-2"); got.Name != d.Name {
		t.Errorf("an equal version overwrote the projection: name %q", got.Name)
	}
}

func TestAuditEventsAreUniquePerDealAndSeq(t *testing.T) {
	s := newStore(t)
	d, evs := newDeal(t, "acme-3", t0)
	record(t, s, d, evs)

	dup := evs[0]
	dup.Message = "a different message for the same sequence"
	record(t, s, d, []deal.Event{dup})
	got, err := s.ListEvents(t.Context(), "acme-3", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("%d events, want %d", len(got), len(evs))
	}
	for i, e := range got {
		want := evs[i]
		if e.Seq != want.Seq || e.Kind != want.Kind || e.Message != want.Message || !e.At.Equal(want.At) ||
			!slices.Equal(e.Notify, want.Notify) || e.Actor != want.Actor || e.Milestone != want.Milestone {
			t.Errorf("event %d = %+v, want %+v", i, e, want)
		}
	}

	// The same seq on another deal is another event.
	other, evs2 := newDeal(t, "acme-4", t0)
	record(t, s, other, evs2)
	if n := count(t, s, `SELECT count(*) FROM audit_events WHERE seq = 1`); n != 2 {
		t.Errorf("%d events with seq 1, want one per deal", n)
	}

	// Paging: after the first, at most one.
	page, err := s.ListEvents(t.Context(), "acme-3", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].Seq != 2 {
		t.Errorf("ListEvents(after 1, limit 1) = %+v", page)
	}
	if _, err := s.ListEvents(t.Context(), "acme-3", 0, -1); !isInputError(err) {
		t.Errorf("negative limit: %v, want an InputError", err)
	}
}

func TestOutboxGetsOneRowPerRecipient(t *testing.T) {
	s := newStore(t)
	d, evs := newDeal(t, "acme-5", t0)
	record(t, s, d, evs)
	// The deal closes: every team member is told.
	closing, err := d.Apply(deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealLost, Reason: "budget cut"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// A hand-made event with a repeated and an empty recipient.
	extra := deal.Event{Seq: d.Seq + 1, Kind: deal.EventEscalation, At: t0.Add(time.Hour), Actor: deal.SystemActor,
		Milestone: "prospect", Message: "late", Notify: []string{"dora", "pat", "dora", ""}}
	d.Seq++
	d.Version++
	record(t, s, d, append(closing, extra))
	record(t, s, d, append(closing, extra)) // retried

	members := team.Members()
	want := 1 + len(members) + 2 // activation (carol), close (team), escalation (dora, pat)
	if n := count(t, s, `SELECT count(*) FROM outbox WHERE deal_id = 'acme-5'`); n != want {
		t.Errorf("%d outbox rows, want %d", n, want)
	}
	closeSeq := closing[len(closing)-1].Seq
	rows, err := s.DB().QueryContext(t.Context(), `SELECT recipient, kind, message, payload->>'deal_name' FROM outbox WHERE seq = $1 ORDER BY recipient`, closeSeq)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var r, kind, msg, name string
		if err := rows.Scan(&r, &kind, &msg, &name); err != nil {
			t.Fatal(err)
		}
		if kind != string(deal.EventDealClosed) || msg == "" || name != d.Name {
			t.Errorf("row for %s: kind %q, message %q, deal_name %q", r, kind, msg, name)
		}
		got = append(got, r)
	}
	slices.Sort(members)
	if !slices.Equal(got, members) {
		t.Errorf("close notified %v, want %v", got, members)
	}
	var closedAt *time.Time
	if err := s.DB().QueryRowContext(t.Context(), `SELECT closed_at FROM deals WHERE id = 'acme-5'`).Scan(&closedAt); err != nil {
		t.Fatal(err)
	}
	if closedAt == nil || !closedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("closed_at = %v", closedAt)
	}
}

func TestRecordChangeRejectsInvalidChanges(t *testing.T) {
	s := newStore(t)
	d, evs := newDeal(t, "acme-6", t0)
	noID := clone(t, d)
	noID.ID = ""
	noVersion := clone(t, d)
	noVersion.Version = 0
	badSeq := slices.Clone(evs)
	badSeq[0].Seq = 0
	dupSeq := []deal.Event{evs[0], evs[0]}
	nan := clone(t, d)
	nan.Version = 99
	nan.Amount = math.NaN() // does not encode
	for name, c := range map[string]struct {
		d   *deal.Deal
		evs []deal.Event
	}{
		"nil deal":   {nil, evs},
		"no id":      {noID, evs},
		"version 0":  {noVersion, evs},
		"seq 0":      {d, badSeq},
		"seq twice":  {d, dupSeq},
		"NaN amount": {nan, nil},
	} {
		if err := s.RecordChange(t.Context(), c.d, c.evs); !errors.Is(err, store.ErrInvalidChange) {
			t.Errorf("%s: %v, want ErrInvalidChange", name, err)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM deals`); n != 0 {
		t.Errorf("an invalid change left %d deals behind", n)
	}
}

func TestGetDealNotFound(t *testing.T) {
	s := newStore(t)
	if _, err := s.GetDeal(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDeal(nope) = %v, want ErrNotFound", err)
	}
}

func isInputError(err error) bool {
	var ie *store.InputError
	return errors.As(err, &ie)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
