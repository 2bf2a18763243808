package testenv_test

import (
	"context"
	"os"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"go.temporal.io/sdk/client"

	"dealflow/deploy/localstack/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunTests(m)) }

func TestPostgresGivesEachCallAFreshDatabase(t *testing.T) {
	a, b := testenv.Postgres(t), testenv.Postgres(t)
	if a == b {
		t.Fatalf("two calls returned the same URL %s", a)
	}
	dbA := sqlx.MustConnect("postgres", a)
	defer dbA.Close()
	dbA.MustExec("create table deals (id text)")
	dbA.MustExec("insert into deals values ('x')")

	dbB := sqlx.MustConnect("postgres", b)
	defer dbB.Close()
	var n int
	if err := dbB.Get(&n, "select count(*) from pg_tables where tablename = 'deals'"); err != nil || n != 0 {
		t.Fatalf("second database is not empty: %d tables named deals, %v", n, err)
	}
}

func TestPostgresSharedServer(t *testing.T) {
	t.Run("one", func(t *testing.T) { connect(t, testenv.Postgres(t)) })
	t.Run("two", func(t *testing.T) { connect(t, testenv.Postgres(t)) })
}

func connect(t *testing.T, url string) {
	db := sqlx.MustConnect("postgres", url)
	defer db.Close() // closed after testenv's drop is registered: the drop must cope
	var one int
	if err := db.Get(&one, "select 1"); err != nil {
		t.Fatal(err)
	}
}

func TestTemporalSharedServerLearnsNewAttributes(t *testing.T) {
	addr := testenv.Temporal(t, map[string]string{"DealId": "Keyword"})
	addr2 := testenv.Temporal(t, map[string]string{"Stage": "Keyword"})
	if addr != addr2 {
		t.Fatalf("expected one shared server, got %s and %s", addr, addr2)
	}
	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(context.Background(), &client.CheckHealthRequest{}); err != nil {
		t.Fatal(err)
	}
}
