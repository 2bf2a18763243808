package store_test

import (
	"sync"
	"testing"

	"dealflow/deploy/localstack/testenv"
)

func TestMigrateTwiceIsSafe(t *testing.T) {
	s := openStore(t, testenv.Postgres(t))
	ctx := t.Context()

	before, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("MigrationStatus before: %v", err)
	}
	if len(before) == 0 {
		t.Fatal("no embedded migrations")
	}
	for _, m := range before {
		if m.Applied() {
			t.Errorf("migration %d applied on a fresh database", m.Version)
		}
	}
	for i := range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	after, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(after) != len(before) {
		t.Fatalf("status lists %d migrations, want %d", len(after), len(before))
	}
	for i, m := range after {
		if !m.Applied() || m.Version != before[i].Version || m.Name == "" {
			t.Errorf("migration %+v: want applied, version %d", m, before[i].Version)
		}
	}
	if after[0].Version != 1 || after[0].Name != "init" {
		t.Errorf("first migration is %d_%s, want 1_init", after[0].Version, after[0].Name)
	}
	if n := count(t, s, `SELECT count(*) FROM schema_migrations`); n != len(before) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(before))
	}
	for _, table := range []string{"deals", "milestones", "audit_events", "outbox", "users", "api_tokens", "templates"} {
		if n := count(t, s, `SELECT count(*) FROM information_schema.tables WHERE table_name = $1`, table); n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	// pg_trgm ships with Debian's postgresql-15, so the text index exists here.
	if n := count(t, s, `SELECT count(*) FROM pg_indexes WHERE indexname = 'deals_text_trgm_idx'`); n != 1 {
		t.Errorf("trigram index missing")
	}
}

func TestMigrateConcurrently(t *testing.T) {
	url := testenv.Postgres(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		s := openStore(t, url) // separate pools: separate processes, in effect
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	s := openStore(t, url)
	st, err := s.MigrationStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c := count(t, s, `SELECT count(*) FROM schema_migrations`); c != len(st) {
		t.Errorf("schema_migrations has %d rows, want %d", c, len(st))
	}
}
