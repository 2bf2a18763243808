package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
)

func funnelCount(t *testing.T, s *store.Store, query string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIngestFunnelActivitiesIdempotent: the same ids twice store once, in
// batches larger than one statement.
func TestIngestFunnelActivitiesIdempotent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	acts := make([]store.FunnelActivity, 12_001)
	for i := range acts {
		acts[i] = store.FunnelActivity{ID: fmt.Sprintf("crm-%d", i), Rep: "rita", Kind: store.FunnelCall, At: t0.Add(time.Duration(i) * time.Minute)}
	}
	got, err := s.IngestFunnelActivities(ctx, acts)
	if err != nil {
		t.Fatal(err)
	}
	if *got != (store.FunnelIngest{Received: 12_001, Stored: 12_001}) {
		t.Errorf("first ingestion %+v", got)
	}
	acts[0].Outcome = "changed" // an activity is a fact: the first copy stands
	got, err = s.IngestFunnelActivities(ctx, append(acts[:10:10], store.FunnelActivity{ID: "new", Rep: "sam", Kind: store.FunnelDemo, At: t0}))
	if err != nil {
		t.Fatal(err)
	}
	if *got != (store.FunnelIngest{Received: 11, Stored: 1, Unchanged: 10}) {
		t.Errorf("second ingestion %+v", got)
	}
	if n := funnelCount(t, s, `SELECT count(*) FROM funnel_activities WHERE outcome = ''`); n != 12_002 {
		t.Errorf("%d activities without an outcome, want 12002", n)
	}
}

// TestIngestFunnelAllOrNothing: a row the database refuses, in the last
// batch, leaves nothing of the earlier batches stored.
func TestIngestFunnelAllOrNothing(t *testing.T) {
	s := newStore(t)
	acts := make([]store.FunnelActivity, 7_000)
	for i := range acts {
		acts[i] = store.FunnelActivity{ID: fmt.Sprint(i), Rep: "rita", Kind: store.FunnelVisit, At: t0}
	}
	acts[6_999].Kind = "lunch" // Parse would have refused it
	if _, err := s.IngestFunnelActivities(t.Context(), acts); err == nil {
		t.Fatal("a bad kind was stored")
	}
	if n := funnelCount(t, s, `SELECT count(*) FROM funnel_activities`); n != 0 {
		t.Errorf("%d activities stored from a failed ingestion", n)
	}
}

// TestIngestFunnelLeadsMoveOn: a lead sent again identical changes nothing;
// sent with its conversion, it is updated.
func TestIngestFunnelLeadsMoveOn(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	q := t0.Add(48 * time.Hour)
	leads := []store.FunnelLead{
		{ID: "l1", Rep: "rita", CreatedAt: t0},
		{ID: "l2", Rep: "sam", CreatedAt: t0, QualifiedAt: &q},
	}
	for i, want := range []store.FunnelIngest{{Received: 2, Stored: 2}, {Received: 2, Unchanged: 2}} {
		got, err := s.IngestFunnelLeads(ctx, leads)
		if err != nil {
			t.Fatal(err)
		}
		if *got != want {
			t.Errorf("ingestion %d: %+v, want %+v", i+1, got, want)
		}
	}
	conv, amount := q.Add(24*time.Hour), 250_000.5
	leads[1].ConvertedAt, leads[1].Amount = &conv, &amount
	got, err := s.IngestFunnelLeads(ctx, leads)
	if err != nil {
		t.Fatal(err)
	}
	if *got != (store.FunnelIngest{Received: 2, Stored: 1, Unchanged: 1}) {
		t.Errorf("conversion: %+v", got)
	}
	if n := funnelCount(t, s, `SELECT count(*) FROM funnel_leads WHERE id = 'l2' AND amount = 250000.5 AND qualified_at IS NOT NULL`); n != 1 {
		t.Error("the converted lead was not updated")
	}
}

func TestParseFunnelRecords(t *testing.T) {
	ok := store.FunnelActivityInput{ID: "a1", Rep: "rita", Kind: "Call", At: "2026-07-01T09:30:00+08:00", Outcome: " reached "}
	a, p := ok.Parse()
	if p != nil || a.Kind != "call" || a.Outcome != "reached" || !a.At.Equal(time.Date(2026, 7, 1, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("parse %+v: %+v %v", ok, a, p)
	}
	for _, c := range []struct {
		in    store.FunnelActivityInput
		field string
	}{
		{store.FunnelActivityInput{Rep: "rita", Kind: "call", At: ok.At}, "id"},
		{store.FunnelActivityInput{ID: "a", Kind: "call", At: ok.At}, "rep"},
		{store.FunnelActivityInput{ID: "a", Rep: "rita", Kind: "email", At: ok.At}, "kind"},
		{store.FunnelActivityInput{ID: "a", Rep: "rita", Kind: "call", At: "yesterday"}, "at"},
		{store.FunnelActivityInput{ID: "a", Rep: "rita", Kind: "call"}, "at"},
		{store.FunnelActivityInput{ID: "a\xff", Rep: "rita", Kind: "call", At: ok.At}, "id"},
		{store.FunnelActivityInput{ID: "a", Rep: "r\x00", Kind: "call", At: ok.At}, "rep"},
		{store.FunnelActivityInput{ID: "a", Rep: "rita", Kind: "call", At: ok.At, Outcome: "ok\x00"}, "outcome"},
		{store.FunnelActivityInput{ID: "a", Rep: "rita", Kind: "call", At: ok.At, Outcome: strings.Repeat("o", 201)}, "outcome"},
	} {
		if _, p := c.in.Parse(); p == nil || p.Field != c.field {
			t.Errorf("%+v: problem %v, want one on %s", c.in, p, c.field)
		}
	}
	amount, negative := 10.0, -1.0
	for _, c := range []struct {
		in    store.FunnelLeadInput
		field string
	}{
		{store.FunnelLeadInput{ID: "l", Rep: "r"}, "created_at"},
		{store.FunnelLeadInput{ID: "l", Rep: "r\x00", CreatedAt: "2026-07-01T09:30:00Z"}, "rep"},
		{store.FunnelLeadInput{ID: "l", Rep: "r", CreatedAt: "2026-07-02T00:00:00Z", QualifiedAt: "2026-07-01T00:00:00Z"}, "qualified_at"},
		{store.FunnelLeadInput{ID: "l", Rep: "r", CreatedAt: "2026-07-02T00:00:00Z", ConvertedAt: "2026-07-03T00:00:00Z"}, "amount"},
		{store.FunnelLeadInput{ID: "l", Rep: "r", CreatedAt: "2026-07-02T00:00:00Z", Amount: &amount}, "amount"},
		{store.FunnelLeadInput{ID: "l", Rep: "r", CreatedAt: "2026-07-02T00:00:00Z", ConvertedAt: "2026-07-03T00:00:00Z", Amount: &negative}, "amount"},
		{store.FunnelLeadInput{ID: "l", Rep: "r", CreatedAt: "2026-07-02T00:00:00Z", ConvertedAt: "soon", Amount: &amount}, "converted_at"},
	} {
		if _, p := c.in.Parse(); p == nil || p.Field != c.field {
			t.Errorf("%+v: problem %v, want one on %s", c.in, p, c.field)
		}
	}
}
