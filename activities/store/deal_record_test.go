package store_test

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

// milestoneVersions maps each milestone row of a deal to its row version
// (xmin): it changes exactly when the row is written.
func milestoneVersions(t *testing.T, s *store.Store, dealID string) map[string]string {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), `SELECT key, xmin::text FROM milestones WHERE deal_id = $1`, dealID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var key, xmin string
		if err := rows.Scan(&key, &xmin); err != nil {
			t.Fatal(err)
		}
		out[key] = xmin
	}
	return out
}

// TestRecordChangeWritesOnlyChangedMilestones: a submit rewrites the two
// milestones it changed and leaves the others' rows alone; a milestone gone
// from the snapshot loses its row.
func TestRecordChangeWritesOnlyChangedMilestones(t *testing.T) {
	s := newStore(t)
	d, evs := newDeal(t, "acme-rows", t0)
	record(t, s, d, evs)
	before := milestoneVersions(t, s, d.ID)

	record(t, s, d, submit(t, d, "prospect", "carol", t0.Add(time.Hour)))
	after := milestoneVersions(t, s, d.ID)
	var rewritten []string
	for key, v := range after {
		if before[key] != v {
			rewritten = append(rewritten, key)
		}
	}
	slices.Sort(rewritten)
	if want := []string{"needs-analysis", "prospect"}; !slices.Equal(rewritten, want) {
		t.Errorf("rows rewritten by the submit: %v, want %v", rewritten, want)
	}

	smaller := clone(t, d)
	smaller.Version++
	smaller.Milestones = slices.DeleteFunc(smaller.Milestones, func(m *deal.Milestone) bool { return m.Key == "quotation" })
	record(t, s, smaller, nil)
	keys := slices.Sorted(maps.Keys(milestoneVersions(t, s, d.ID)))
	if slices.Contains(keys, "quotation") || len(keys) != 5 {
		t.Errorf("milestone rows after quotation left the plan: %v", keys)
	}
}

// TestRecordChangeIsAllOrNothing: an event Postgres refuses (here a CHECK
// constraint) fails the whole change, projection included.
func TestRecordChangeIsAllOrNothing(t *testing.T) {
	s := newStore(t)
	if _, err := s.DB().ExecContext(t.Context(), `ALTER TABLE audit_events ADD CONSTRAINT no_bad CHECK (message <> 'bad message')`); err != nil {
		t.Fatal(err)
	}
	d, evs := newDeal(t, "acme-atomic", t0)
	evs[len(evs)-1].Message = "bad message"
	if err := s.RecordChange(t.Context(), d, evs); !errors.Is(err, store.ErrInvalidChange) {
		t.Fatalf("RecordChange = %v, want ErrInvalidChange", err)
	}
	if got := tableCounts(t, s); got != [4]int{} {
		t.Errorf("a refused change left deals, milestones, events, outbox = %v", got)
	}
}
