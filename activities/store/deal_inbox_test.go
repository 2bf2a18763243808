package store_test

import (
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

func inboxKeys(items []store.InboxItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.DealID+"/"+it.Milestone)
	}
	return out
}

func sameKeys(t *testing.T, what string, items []store.InboxItem, want ...string) {
	t.Helper()
	got := inboxKeys(items)
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}

func TestInbox(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()

	// a: the prospect milestone is active, owned by carol.
	a, evs := newDeal(t, "a", t0)
	record(t, s, a, evs)

	// b: solution design submitted for review by both approvers (policy all);
	// alice has approved, bob has not voted.
	b, evs := newDeal(t, "b", t0, func(spec *deal.DealSpec) {
		for i := range spec.Plan.Milestones {
			if r := spec.Plan.Milestones[i].Review; r != nil {
				r.Policy = deal.PolicyAll
			}
		}
	})
	record(t, s, b, evs)
	record(t, s, b, submit(t, b, "prospect", "carol", t0.Add(time.Hour)))
	record(t, s, b, submit(t, b, "needs-analysis", "carol", t0.Add(2*time.Hour)))
	record(t, s, b, submit(t, b, "solution-design", "sam", t0.Add(3*time.Hour)))
	in, err := s.Inbox(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "bob's reviews before any vote", in.Reviews, "b/solution-design")
	evs, err = b.Apply(deal.ReviewAction{Acting: deal.Acting{Actor: "alice"}, Milestone: "solution-design", Decision: deal.Approve}, t0.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	record(t, s, b, evs)

	// c: prospect is late: the owner was reminded 2 days before due, the PMO
	// told at due.
	c, evs := newDeal(t, "c", t0.Add(-10*deal.Day))
	record(t, s, c, evs)
	record(t, s, c, c.Advance(t0.Add(-10*deal.Day+7*deal.Day+time.Hour)))

	// d: closed; its open milestone is nobody's work any more.
	d, evs := newDeal(t, "d", t0)
	record(t, s, d, evs)
	evs, err = d.Apply(deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealCancelled, Reason: "duplicate"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	record(t, s, d, evs)

	carol, err := s.Inbox(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	// c's prospect fell due first, so it comes first.
	sameKeys(t, "carol's tasks", carol.Tasks, "c/prospect", "a/prospect")
	sameKeys(t, "carol's reviews", carol.Reviews)
	sameKeys(t, "carol's escalations", carol.Escalations, "c/prospect")
	if it := carol.Tasks[0]; !it.Overdue || it.DueAt == nil || it.DealName != "Deal c" || it.State != deal.StateActive || it.Owner != "carol" {
		t.Errorf("carol's first task %+v", it)
	}
	if e := carol.Escalations[0]; e.Message == "" || e.At == nil || e.EscalationLevel != 2 {
		t.Errorf("carol's escalation %+v", e)
	}

	alice, _ := s.Inbox(ctx, "alice")
	sameKeys(t, "alice's reviews after voting", alice.Reviews)
	bob, _ := s.Inbox(ctx, "bob")
	sameKeys(t, "bob's reviews", bob.Reviews, "b/solution-design")
	if r := bob.Reviews[0]; r.State != deal.StateInReview || r.Round != 1 || r.Owner != "sam" {
		t.Errorf("bob's review %+v", r)
	}

	pat, _ := s.Inbox(ctx, "pat")
	sameKeys(t, "pat's escalations", pat.Escalations, "c/prospect")
	sameKeys(t, "pat's tasks", pat.Tasks)

	// Once the milestone is done, the escalation is history.
	record(t, s, c, submit(t, c, "prospect", "carol", t0.Add(2*time.Hour)))
	pat, _ = s.Inbox(ctx, "pat")
	sameKeys(t, "pat's escalations after the submission", pat.Escalations)

	nobody, err := s.Inbox(ctx, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if nobody.Tasks == nil || nobody.Reviews == nil || nobody.Escalations == nil {
		t.Errorf("empty inbox has nil lists: %+v", nobody)
	}
}
