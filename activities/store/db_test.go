package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"dealflow/activities/store"
)

func TestOpenUnreachableIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = store.Open(ctx, store.Config{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=2", port)})
	if err == nil || !store.IsUnavailable(err) {
		t.Errorf("Open on a closed port: %v; IsUnavailable = false", err)
	}
	if _, err := store.Open(ctx, store.Config{}); err == nil {
		t.Error("Open without a URL succeeded")
	}
}

func TestTerminatedConnectionIsUnavailable(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	conn, err := s.DB().Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowxContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, `SELECT 1`)
	if err == nil || !store.IsUnavailable(err) {
		t.Errorf("query on a terminated connection: %v; IsUnavailable = false", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("the pool did not recover: %v", err)
	}
}

func TestIsUnavailableIgnoresOtherErrors(t *testing.T) {
	s := newStore(t)
	_, err := s.DB().ExecContext(t.Context(), `SELECT * FROM no_such_table`)
	for _, err := range []error{nil, errors.New("boom"), store.ErrNotFound, err} {
		if store.IsUnavailable(err) {
			t.Errorf("IsUnavailable(%v) = true", err)
		}
	}
}

func TestInTxRollsBack(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name) VALUES ('x', 'x')`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("InTx = %v", err)
	}
	if n := count(t, s, `SELECT count(*) FROM users`); n != 0 {
		t.Errorf("rolled-back insert left %d users", n)
	}
	func() {
		defer func() { _ = recover() }()
		_ = s.InTx(ctx, func(tx *sqlx.Tx) error {
			_, _ = tx.ExecContext(ctx, `INSERT INTO users (id, name) VALUES ('y', 'y')`)
			panic("oops")
		})
	}()
	if n := count(t, s, `SELECT count(*) FROM users`); n != 0 {
		t.Errorf("panicking transaction left %d users", n)
	}
	if err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, name) VALUES ('z', 'z')`)
		return err
	}); err != nil || count(t, s, `SELECT count(*) FROM users`) != 1 {
		t.Errorf("committed transaction: %v", err)
	}
}
