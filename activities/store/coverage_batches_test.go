package store_test

import (
	"fmt"
	"testing"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
)

// TestCoverageImportsInBatches: imports larger than one statement's batch
// count right across batches, and a row that Postgres refuses in the last
// batch leaves nothing of the earlier ones (one transaction).
func TestCoverageImportsInBatches(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	createProgram(t, s, testProgram("east"))
	ctx := t.Context()
	const n = 12_001 // three batches of at most 5,000

	got, err := s.ImportAccounts(ctx, "east", accounts(n))
	if err != nil || *got != (store.AccountImport{Received: n, Created: n}) {
		t.Fatalf("first import: %+v, %v", got, err)
	}
	again := accounts(n + 1)
	again[n-1].Region = "west" // in the last batch
	again[10].Owner = "sid"    // in the first
	got, err = s.ImportAccounts(ctx, "east", again)
	if err != nil || *got != (store.AccountImport{Received: n + 1, Created: 1, Updated: 2, Unchanged: n - 2}) {
		t.Fatalf("second import: %+v, %v", got, err)
	}

	events := make([]coverage.Event, n)
	for i := range events {
		events[i] = coverage.Event{ID: fmt.Sprintf("e-%d", i), Account: fmt.Sprintf("acc-%03d", i), Kind: coverage.EventBDVisit, By: "ben"}
	}
	bad := append([]coverage.Event(nil), events...)
	bad[n-1].Note = "a NUL \x00 Postgres refuses"
	if _, err := s.RecordCoverageEvents(ctx, "east", importer, bad); err == nil {
		t.Fatal("a note with NUL was stored")
	}
	if c := count(t, s, `SELECT count(*) FROM coverage_events`); c != 0 {
		t.Fatalf("%d events stored by a batch refused in its last statement", c)
	}
	res, err := s.RecordCoverageEvents(ctx, "east", importer, events)
	if err != nil || *res != (store.EventIngest{Received: n, Recorded: n}) {
		t.Fatalf("events: %+v, %v", res, err)
	}
	res, err = s.RecordCoverageEvents(ctx, "east", importer, events)
	if err != nil || *res != (store.EventIngest{Received: n, Duplicates: n}) {
		t.Fatalf("events again: %+v, %v", res, err)
	}
}
