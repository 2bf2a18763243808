package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows/deal"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunTests(m)) }

// newStore opens a migrated store on a fresh database.
func newStore(t *testing.T) *store.Store {
	t.Helper()
	s := openStore(t, testenv.Postgres(t))
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, store.Config{URL: url, MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var team = deal.Team{PMO: "pat", Commercial: "carol", Solution: "sam", Approvers: []string{"alice", "bob"}, Director: "dora"}

// newDeal starts a project-type deal at now; its first events activate the
// prospect milestone (owner carol).
func newDeal(t *testing.T, id string, now time.Time, mod ...func(*deal.DealSpec)) (*deal.Deal, []deal.Event) {
	t.Helper()
	tmpl, ok := deal.Builtin("project")
	if !ok {
		t.Fatal("no built-in project template")
	}
	spec := deal.DealSpec{ID: id, Name: "Deal " + id, Customer: "ACME", Amount: 100000, Currency: "CNY", Team: team, Plan: tmpl}
	for _, f := range mod {
		f(&spec)
	}
	d, evs, err := deal.NewDeal(spec, now)
	if err != nil {
		t.Fatalf("NewDeal %s: %v", id, err)
	}
	return d, evs
}

// submit hands in milestone key with its whole checklist.
func submit(t *testing.T, d *deal.Deal, key, by string, now time.Time) []deal.Event {
	t.Helper()
	m := d.Milestone(key)
	if m == nil {
		t.Fatalf("no milestone %s", key)
	}
	evs, err := d.Apply(deal.Submit{Acting: deal.Acting{Actor: by}, Milestone: key, Checklist: m.Checklist}, now)
	if err != nil {
		t.Fatalf("submit %s: %v", key, err)
	}
	return evs
}

func record(t *testing.T, s *store.Store, d *deal.Deal, evs []deal.Event) {
	t.Helper()
	if err := s.RecordChange(t.Context(), d, evs); err != nil {
		t.Fatalf("RecordChange %s v%d: %v", d.ID, d.Version, err)
	}
}

// clone deep-copies a deal through JSON, as the workflow's payloads do.
func clone(t *testing.T, d *deal.Deal) *deal.Deal {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var c deal.Deal
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func count(t *testing.T, s *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func dealID(i int) string { return fmt.Sprintf("d-%03d", i) }
