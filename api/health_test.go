package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReadinessSaysNoMoreThanOKOrUnavailable: the answer names each
// dependency ok or unavailable and nothing of the cause (hosts, ports);
// the cause is logged when a dependency fails, again only after
// RepeatEvery, and its recovery once.
func TestReadinessSaysNoMoreThanOKOrUnavailable(t *testing.T) {
	var logs bytes.Buffer
	r := NewReadiness(slog.New(slog.NewTextHandler(&logs, nil)))
	now := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	var pgErr error
	checks := []ReadyCheck{
		{"postgres", func(context.Context) error { return pgErr }},
		{"temporal", func(context.Context) error { return nil }},
	}
	ctx := t.Context()

	status, body := r.Check(ctx, checks...)
	if status != http.StatusOK || len(body) != 3 || body["status"] != "ready" || body["postgres"] != "ok" || body["temporal"] != "ok" {
		t.Errorf("all up: %d %v", status, body)
	}
	pgErr = errors.New(`dial tcp 10.0.3.7:5432: connect: connection refused (user "dealflow")`)
	for range 20 { // a probe every 5 s for 100 s
		status, body = r.Check(ctx, checks...)
		now = now.Add(5 * time.Second)
	}
	if status != http.StatusServiceUnavailable || len(body) != 3 || body["status"] != "unavailable" || body["postgres"] != "unavailable" || body["temporal"] != "ok" {
		t.Errorf("postgres down: %d %v", status, body)
	}
	for _, v := range body {
		if strings.Contains(v, "10.0.3.7") || strings.Contains(v, "5432") || strings.Contains(v, "refused") {
			t.Errorf("the answer leaks the cause: %v", body)
		}
	}
	pgErr = nil
	for range 3 {
		status, _ = r.Check(ctx, checks...)
	}
	if status != http.StatusOK {
		t.Errorf("back up: %d", status)
	}
	log := logs.String()
	for what, want := range map[string]int{
		"readiness: dependency unavailable":       1,
		"readiness: dependency still unavailable": 1, // after a minute, not every probe
		"readiness: dependency available again":   1,
		"10.0.3.7:5432":                           2,
	} {
		if got := strings.Count(log, what); got != want {
			t.Errorf("%q logged %d times, want %d:\n%s", what, got, want, log)
		}
	}
}
