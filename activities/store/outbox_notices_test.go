package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"dealflow/activities/store"
)

// TestQueueNotices: report notices go through the same outbox as deal
// events, once per (subject, seq, recipient), with their own link.
func TestQueueNotices(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	notices := []store.Notice{
		{Subject: "funnel/q3-east", Seq: 7, Recipient: "rita", Kind: "behind_pace", Message: "3.1 calls/day, need 5", Link: "/funnel/reports/7"},
		{Subject: "funnel/q3-east", Seq: 7, Recipient: "mona", Kind: "behind_pace", Message: "rita is behind pace"},
	}
	for range 2 {
		if err := s.QueueNotices(ctx, notices); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ClaimNotifications(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("claimed %d notifications, want 2 (queued twice, kept once)", len(got))
	}
	for _, n := range got {
		if n.Recipient == "rita" && (n.Payload.Link != "/funnel/reports/7" || n.DealID != "funnel/q3-east" || n.Seq != 7) {
			t.Errorf("rita's notice %+v", n)
		}
	}
	if err := s.QueueNotices(ctx, []store.Notice{{Subject: "x", Kind: "k"}}); !errors.Is(err, store.ErrInvalidChange) {
		t.Errorf("a notice without recipient: %v", err)
	}
}
