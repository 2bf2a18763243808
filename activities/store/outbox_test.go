package store_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

// seedOutbox records a closed deal: one notification per team member (plus
// carol's activation).
func seedOutbox(t *testing.T, s *store.Store, id string) int {
	t.Helper()
	d, evs := newDeal(t, id, t0)
	more, err := d.Apply(deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealWon, Reason: "signed"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	record(t, s, d, append(evs, more...))
	return 1 + len(team.Members())
}

func ids(ns []store.Notification) []int64 {
	var out []int64
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

func TestClaimNotificationsLeasesRows(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	total := seedOutbox(t, s, "o1")

	first, err := s.ClaimNotifications(ctx, 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || !slices.IsSorted(ids(first)) {
		t.Fatalf("claimed %v", ids(first))
	}
	n := first[0]
	if n.DealID != "o1" || n.Recipient != "carol" || n.Kind != string(deal.EventMilestoneActivated) ||
		n.Payload.DealName != "Deal o1" || n.Payload.Customer != "ACME" || n.Payload.Milestone != "prospect" || n.Message == "" {
		t.Errorf("first notification %+v", n)
	}
	rest, err := s.ClaimNotifications(ctx, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != total-2 {
		t.Errorf("second claim got %d, want the other %d", len(rest), total-2)
	}
	for _, r := range rest {
		if slices.Contains(ids(first), r.ID) {
			t.Errorf("notification %d claimed twice within its lease", r.ID)
		}
	}
	if again, _ := s.ClaimNotifications(ctx, 100, time.Minute); len(again) != 0 {
		t.Errorf("claimed %d leased rows", len(again))
	}

	// Released rows are due at once; delivered ones never again.
	if err := s.ReleaseNotifications(ctx, ids(rest)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(ctx, first[0].ID); err != nil {
		t.Fatal(err)
	}
	back, _ := s.ClaimNotifications(ctx, 100, time.Minute)
	if !slices.Equal(ids(back), ids(rest)) {
		t.Errorf("after release claimed %v, want %v", ids(back), ids(rest))
	}
	// An expired lease makes a row due again.
	if _, err := s.DB().ExecContext(ctx, `UPDATE outbox SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, first[1].ID); err != nil {
		t.Fatal(err)
	}
	if exp, _ := s.ClaimNotifications(ctx, 100, time.Minute); len(exp) != 1 || exp[0].ID != first[1].ID {
		t.Errorf("after the lease expired claimed %v", ids(exp))
	}
}

func TestClaimNotificationsConcurrently(t *testing.T) {
	s := newStore(t)
	total := 0
	for i := range 10 {
		total += seedOutbox(t, s, dealID(i))
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for {
				ns, err := s.ClaimNotifications(t.Context(), 3, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ns) == 0 {
					return
				}
				mu.Lock()
				for _, n := range ns {
					claimed[n.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != total {
		t.Errorf("claimed %d distinct notifications, want %d", len(claimed), total)
	}
	for id, c := range claimed {
		if c != 1 {
			t.Errorf("notification %d claimed %d times", id, c)
		}
	}
}

func TestMarkFailedBacksOffThenGivesUp(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	seedOutbox(t, s, "o2")
	ns, _ := s.ClaimNotifications(ctx, 2, time.Minute)
	n, perm := ns[0], ns[1]

	next := time.Now().Add(time.Hour)
	if err := s.MarkFailed(ctx, n.ID, errors.New("HTTP 503"), next); err != nil {
		t.Fatal(err)
	}
	var attempts int
	var nextAt time.Time
	var failedAt *time.Time
	var lastErr string
	row := func(id int64) {
		t.Helper()
		if err := s.DB().QueryRowContext(ctx, `SELECT attempts, next_attempt_at, failed_at, last_error FROM outbox WHERE id = $1`, id).
			Scan(&attempts, &nextAt, &failedAt, &lastErr); err != nil {
			t.Fatal(err)
		}
	}
	row(n.ID)
	if attempts != 1 || nextAt.Sub(next).Abs() > time.Millisecond || failedAt != nil || lastErr != "HTTP 503" {
		t.Errorf("after one failure: attempts %d, next %v (want %v), failed %v, error %q", attempts, nextAt, next, failedAt, lastErr)
	}
	for i := 2; i <= store.MaxDeliveryAttempts; i++ {
		if err := s.MarkFailed(ctx, n.ID, errors.New("HTTP 503"), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	row(n.ID)
	if attempts != store.MaxDeliveryAttempts || failedAt == nil {
		t.Errorf("after %d failures: attempts %d, failed_at %v", store.MaxDeliveryAttempts, attempts, failedAt)
	}
	// Given up: neither claimed nor counted again.
	_ = s.MarkFailed(ctx, n.ID, errors.New("again"), time.Now())
	row(n.ID)
	if attempts != store.MaxDeliveryAttempts {
		t.Errorf("a failed notification counted another attempt")
	}

	// A zero next attempt (permanent error) gives up at once; long and
	// invalid-UTF-8-after-cutting errors are stored.
	long := strings.Repeat("é", 5000)
	if err := s.MarkFailed(ctx, perm.ID, errors.New(long), time.Time{}); err != nil {
		t.Fatal(err)
	}
	row(perm.ID)
	if attempts != 1 || failedAt == nil || len(lastErr) > 2000 || lastErr == "" {
		t.Errorf("permanent failure: attempts %d, failed_at %v, error of %d bytes", attempts, failedAt, len(lastErr))
	}
	if err := s.ReleaseNotifications(ctx, []int64{n.ID, perm.ID}); err != nil {
		t.Fatal(err)
	}
	for _, c := range mustClaim(t, s) {
		if c.ID == n.ID || c.ID == perm.ID {
			t.Errorf("claimed failed notification %d", c.ID)
		}
	}
}

func TestMarkChannelsDone(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	seedOutbox(t, s, "o3")
	ns, _ := s.ClaimNotifications(ctx, 1, time.Minute)
	id := ns[0].ID
	if err := s.MarkChannelsDone(ctx, id, []string{"slack", "log"}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkChannelsDone(ctx, id, []string{"log", "wecom"}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, id, errors.New("feishu down"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, n := range mustClaim(t, s) {
		if n.ID == id {
			if !slices.Equal(n.ChannelsDone, []string{"log", "slack", "wecom"}) || n.Attempts != 1 || n.LastError != "feishu down" {
				t.Errorf("reclaimed %+v", n)
			}
			return
		}
	}
	t.Error("the failed notification did not come due again")
}

func mustClaim(t *testing.T, s *store.Store) []store.Notification {
	t.Helper()
	ns, err := s.ClaimNotifications(t.Context(), 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}
