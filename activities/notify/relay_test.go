package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"dealflow/activities/notify"
	"dealflow/activities/store"
	"dealflow/deploy/localstack/testenv"
	"dealflow/workflows/deal"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunTests(m)) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, store.Config{URL: testenv.Postgres(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// seed records a deal that starts and closes: one notification to carol
// (prospect activated) and one to each of the six team members (closed).
func seed(t *testing.T, s *store.Store, id string) int {
	t.Helper()
	tmpl, _ := deal.Builtin("project")
	team := deal.Team{PMO: "pat", Commercial: "carol", Solution: "sam", Approvers: []string{"alice", "bob"}, Director: "dora"}
	d, evs, err := deal.NewDeal(deal.DealSpec{ID: id, Name: "Deal " + id, Customer: "ACME", Team: team, Plan: tmpl}, t0)
	if err != nil {
		t.Fatal(err)
	}
	more, err := d.Apply(deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealWon, Reason: "signed"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordChange(t.Context(), d, append(evs, more...)); err != nil {
		t.Fatal(err)
	}
	return 1 + len(team.Members())
}

// receiver is a webhook endpoint that fails the first failFirst requests
// for each notification with status failWith, and records every request.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	failWith  int
	hits      map[string][]time.Time // deal/kind/recipient → request times
	links     []string
}

func newReceiver(t *testing.T, failFirst, failWith int) (*receiver, *httptest.Server) {
	rc := &receiver{failFirst: failFirst, failWith: failWith, hits: map[string][]time.Time{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m notify.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("bad body %q", b)
		}
		if m.Text == "" {
			// Slack-shaped body: {"text": ...}; key by the whole text.
			var sl struct{ Text string }
			_ = json.Unmarshal(b, &sl)
			m.Text = sl.Text
		}
		key := m.DealID + "/" + m.Kind + "/" + m.Recipient
		if m.DealID == "" {
			key = m.Text
		}
		rc.mu.Lock()
		rc.hits[key] = append(rc.hits[key], time.Now())
		rc.links = append(rc.links, m.Link)
		n := len(rc.hits[key])
		rc.mu.Unlock()
		if n <= rc.failFirst {
			w.WriteHeader(rc.failWith)
			_, _ = io.WriteString(w, "try later")
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *receiver) snapshot() map[string][]time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string][]time.Time, len(rc.hits))
	for k, v := range rc.hits {
		out[k] = append([]time.Time(nil), v...)
	}
	return out
}

func fastConfig() notify.RelayConfig {
	return notify.RelayConfig{PollInterval: 20 * time.Millisecond, BatchSize: 4, BaseBackoff: 100 * time.Millisecond,
		SendTimeout: 2 * time.Second, LinkBase: "https://df.example/"}
}

// runRelays runs relays until cond holds (or 15s pass), then stops them and
// checks they return nil.
func runRelays(t *testing.T, cond func() bool, relays ...*notify.Relay) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, len(relays))
	for _, r := range relays {
		go func() { errs <- r.Run(ctx) }()
	}
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Error("condition not reached in 15s")
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	for range relays {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a relay did not stop within 5s of cancellation")
		}
	}
}

func count(t *testing.T, s *store.Store, query string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRelayDeliversEachNotificationOnce(t *testing.T) {
	s := newStore(t)
	total := 0
	for _, id := range []string{"a", "b", "c"} {
		total += seed(t, s, id)
	}
	rc, srv := newReceiver(t, 0, 0)
	var relays []*notify.Relay
	for range 2 { // two workers share the outbox
		r, err := notify.NewRelay(s, []notify.Channel{notify.NewWebhook(srv.URL, nil)}, fastConfig())
		if err != nil {
			t.Fatal(err)
		}
		relays = append(relays, r)
	}
	runRelays(t, func() bool { return count(t, s, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`) == 0 }, relays...)

	hits := rc.snapshot()
	if len(hits) != total {
		t.Errorf("%d distinct notifications received, want %d", len(hits), total)
	}
	for k, v := range hits {
		if len(v) != 1 {
			t.Errorf("%s received %d times", k, len(v))
		}
	}
	if _, ok := hits["a/deal_closed/dora"]; !ok {
		t.Errorf("no close notification for dora: %v", hits)
	}
	if rc.links[0] != "https://df.example/deals/a" && rc.links[0] != "https://df.example/deals/b" && rc.links[0] != "https://df.example/deals/c" {
		t.Errorf("link %q", rc.links[0])
	}
	if n := count(t, s, `SELECT count(*) FROM outbox WHERE attempts > 0 OR failed_at IS NOT NULL`); n != 0 {
		t.Errorf("%d rows record failures", n)
	}
}

func TestRelayRetriesWithBackoff(t *testing.T) {
	s := newStore(t)
	total := seed(t, s, "r")
	rc, srv := newReceiver(t, 2, http.StatusServiceUnavailable)
	r, err := notify.NewRelay(s, []notify.Channel{notify.NewWebhook(srv.URL, nil)}, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	runRelays(t, func() bool { return count(t, s, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`) == 0 }, r)

	if n := count(t, s, `SELECT count(*) FROM outbox WHERE attempts = 2 AND delivered_at IS NOT NULL AND failed_at IS NULL`); n != total {
		t.Errorf("%d of %d rows delivered after exactly 2 failed attempts", n, total)
	}
	for k, times := range rc.snapshot() {
		if len(times) != 3 {
			t.Errorf("%s: %d requests, want 3", k, len(times))
			continue
		}
		// 100ms after the first failure, 200ms after the second.
		if d := times[1].Sub(times[0]); d < 100*time.Millisecond {
			t.Errorf("%s: first retry after %v, want ≥ 100ms", k, d)
		}
		if d := times[2].Sub(times[1]); d < 200*time.Millisecond {
			t.Errorf("%s: second retry after %v, want ≥ 200ms", k, d)
		}
	}
}

func TestRelayRetriesOnlyTheFailingChannel(t *testing.T) {
	s := newStore(t)
	total := seed(t, s, "p")
	good, goodSrv := newReceiver(t, 0, 0)
	flaky, flakySrv := newReceiver(t, 1, http.StatusBadGateway)
	r, err := notify.NewRelay(s, []notify.Channel{notify.NewWebhook(goodSrv.URL, nil), notify.NewSlack(flakySrv.URL, nil)}, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	runRelays(t, func() bool { return count(t, s, `SELECT count(*) FROM outbox WHERE delivered_at IS NULL`) == 0 }, r)
	for k, v := range good.snapshot() {
		if len(v) != 1 {
			t.Errorf("healthy channel got %s %d times", k, len(v))
		}
	}
	if g := len(good.snapshot()); g != total {
		t.Errorf("healthy channel got %d notifications, want %d", g, total)
	}
	flakyHits := flaky.snapshot()
	if len(flakyHits) != total {
		t.Errorf("flaky channel got %d notifications, want %d", len(flakyHits), total)
	}
	for k, v := range flakyHits {
		if len(v) != 2 {
			t.Errorf("flaky channel got %q %d times, want 2", k, len(v))
		}
	}
}

func TestRelayGivesUpOnPermanentErrors(t *testing.T) {
	s := newStore(t)
	total := seed(t, s, "x")
	rc, srv := newReceiver(t, 1000, http.StatusNotFound)
	r, err := notify.NewRelay(s, []notify.Channel{notify.NewWebhook(srv.URL, nil)}, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	runRelays(t, func() bool { return count(t, s, `SELECT count(*) FROM outbox WHERE failed_at IS NULL`) == 0 }, r)
	time.Sleep(300 * time.Millisecond) // longer than the first backoff: no retry may follow
	for k, v := range rc.snapshot() {
		if len(v) != 1 {
			t.Errorf("%s sent %d times after a 404", k, len(v))
		}
	}
	if n := count(t, s, `SELECT count(*) FROM outbox WHERE attempts = 1 AND failed_at IS NOT NULL AND last_error LIKE '%HTTP 404%'`); n != total {
		t.Errorf("%d of %d rows failed for good with the 404 recorded", n, total)
	}
}

func TestRelayStopsWhenIdleAndCancelled(t *testing.T) {
	s := newStore(t)
	r, err := notify.NewRelay(s, []notify.Channel{notify.NewLog(nil)}, notify.RelayConfig{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runRelays(t, func() bool { return time.Since(start) > 50*time.Millisecond }, r)
}

func TestNewRelayChecksChannels(t *testing.T) {
	s := newStore(t)
	if _, err := notify.NewRelay(s, nil, notify.RelayConfig{}); err == nil {
		t.Error("a relay without channels was accepted")
	}
	if _, err := notify.NewRelay(s, []notify.Channel{notify.NewLog(nil), notify.NewLog(nil)}, notify.RelayConfig{}); err == nil {
		t.Error("a relay with the same channel twice was accepted")
	}
}

func TestBackoff(t *testing.T) {
	for attempts, want := range map[int]time.Duration{
		0: 5 * time.Second, 1: 10 * time.Second, 2: 20 * time.Second, 9: 2560 * time.Second,
		10: time.Hour, 11: time.Hour, 1000: time.Hour,
	} {
		if got := notify.Backoff(attempts, 5*time.Second, time.Hour); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}

// failingOutbox is an outbox whose database is down.
type failingOutbox struct {
	store.Store
	mu     sync.Mutex
	claims int
}

func (f *failingOutbox) ClaimNotifications(context.Context, int, time.Duration) ([]store.Notification, error) {
	f.mu.Lock()
	f.claims++
	f.mu.Unlock()
	return nil, errors.New("connection refused")
}

func TestRelaySurvivesStoreErrors(t *testing.T) {
	f := &failingOutbox{}
	r, err := notify.NewRelay(f, []notify.Channel{notify.NewLog(nil)}, notify.RelayConfig{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runRelays(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.claims >= 3
	}, r)
}
