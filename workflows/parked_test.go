package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"dealflow/workflows/deal"
)

// TestParkedRecordingIsRetried: while the store parks the deal's changes
// (refused for good), the workflow keeps going and retries on a timer with
// backoff; once the store takes them again, the retry replays them. A deal
// closed while its record is behind waits for it before its workflow ends.
// Every event is recorded exactly once, in order (h.run checks).
func TestParkedRecordingIsRetried(t *testing.T) {
	h := newHarness(t)
	h.at(time.Hour, func() {
		h.rec.refuse.Store(true)
		h.do(UpdateSubmit, submit("cora", "prospect", h.state()))
	})
	h.at(2*time.Hour, func() {
		if n := h.rec.parkedNow(); n != 1 {
			t.Errorf("parked changes: %d, want 1", n)
		}
		h.do(UpdateBuyerStage, deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: deal.BuyerContactAdded})
	})
	h.at(3*time.Hour, func() {
		if n := h.rec.parkedNow(); n != 2 {
			t.Errorf("parked changes: %d, want 2", n)
		}
		h.rec.refuse.Store(false)
	})
	// The backoff (1 min doubling to 1 h) brings a retry within the hour.
	h.at(4*time.Hour+time.Minute, func() {
		if n := h.rec.parkedNow(); n != 0 || h.rec.replayed != 2 {
			t.Errorf("after the repair: %d parked, %d replayed; want 0 and 2", n, h.rec.replayed)
		}
		h.rec.refuse.Store(true)
		h.do(UpdateClose, closeDeal(deal.DealLost))
	})
	h.at(8*time.Hour, func() {
		if h.env.IsWorkflowCompleted() {
			t.Error("the workflow ended with its record behind")
		}
		if n := h.rec.parkedNow(); n != 1 {
			t.Errorf("parked changes: %d, want the closing one", n)
		}
		h.rec.refuse.Store(false)
	})
	d := h.run(spec(t, "project"))
	if d.Status != deal.DealLost || h.rec.parkedNow() != 0 || h.rec.replayed != 3 {
		t.Errorf("ended %s with %d parked, %d replayed", d.Status, h.rec.parkedNow(), h.rec.replayed)
	}
}

// TestUnrecordedBacklogIsBounded: while recordings fail (the store is
// down), unrecorded events pile up in the workflow; past either bound (how
// many events, how many bytes) new actions are refused with a conflict, and
// accepted again once the record catches up.
func TestUnrecordedBacklogIsBounded(t *testing.T) {
	for _, c := range []struct {
		name          string
		events, bytes int
		note          string
	}{
		{"events", 2, 256 << 10, ""},
		{"bytes", 500, 6000, strings.Repeat("n", 2000)},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func(n, b int) { maxUnrecordedEvents, maxUnrecordedBytes = n, b }(maxUnrecordedEvents, maxUnrecordedBytes)
			maxUnrecordedEvents, maxUnrecordedBytes = c.events, c.bytes
			h := newHarness(t)
			stages := deal.BuyerStages
			stage := func(st deal.BuyerStage) deal.BuyerStageAction {
				return deal.BuyerStageAction{Acting: deal.Acting{Actor: "cora"}, Stage: st, Note: c.note}
			}
			h.at(time.Hour, func() {
				h.rec.down.Store(true)
				// The first change's recording is in flight; the next two wait.
				for _, st := range stages[:3] {
					h.do(UpdateBuyerStage, stage(st))
				}
			})
			h.at(time.Hour+time.Second, func() {
				h.refused(UpdateBuyerStage, stage(stages[3]), deal.CodeConflict, "record is behind")
				h.rec.down.Store(false)
			})
			h.at(2*time.Hour, func() {
				h.do(UpdateBuyerStage, stage(stages[3]))
				h.do(UpdateClose, closeDeal(deal.DealLost))
			})
			h.run(spec(t, "project"))
		})
	}
}

// TestOperatorReplayEndsTheWait: a deal whose record is behind waits for
// its backoff timer; an operator's replay, with its signal, lets the
// workflow retry at once — an open deal stops showing its record behind,
// a closed one ends, long before the next timer.
func TestOperatorReplayEndsTheWait(t *testing.T) {
	h := newHarness(t)
	var calls int64
	h.at(10*time.Minute, func() {
		h.rec.refuse.Store(true)
		h.do(UpdateSubmit, submit("cora", "prospect", h.state()))
	})
	// Retries at 0:11, 0:13, 0:17, 0:25, 0:41: the replay comes at 0:20.
	h.at(20*time.Minute, func() {
		h.rec.refuse.Store(false)
		if err := h.rec.replayNow(context.Background()); err != nil {
			t.Error(err)
		}
		calls = h.rec.calls.Load()
		h.env.SignalWorkflow(SignalRecordingReplayed, nil)
	})
	h.at(20*time.Minute+time.Second, func() {
		if h.rec.calls.Load() != calls+1 {
			t.Errorf("recordings after the signal: %d, want 1", h.rec.calls.Load()-calls)
		}
	})
	h.at(30*time.Minute, func() { // past the timer the signal cancelled (0:25)
		if h.rec.calls.Load() != calls+1 {
			t.Errorf("recordings after the record was complete: %d, want none (the retry timer is cancelled)", h.rec.calls.Load()-calls-1)
		}
	})
	h.at(time.Hour, func() {
		h.rec.refuse.Store(true)
		h.do(UpdateClose, closeDeal(deal.DealLost))
	})
	// Retries at 1:01, 1:03, 1:07, 1:15, then 1:31: the replay comes
	// between the last two.
	h.at(time.Hour+20*time.Minute, func() {
		h.rec.refuse.Store(false)
		if err := h.rec.replayNow(context.Background()); err != nil {
			t.Error(err)
		}
		h.env.SignalWorkflow(SignalRecordingReplayed, nil)
	})
	d := h.run(spec(t, "project"))
	if ended := h.env.Now().Sub(start); d.Status != deal.DealLost || ended > time.Hour+21*time.Minute {
		t.Errorf("ended %s at +%s; want lost, right after the replay at +1h20m", d.Status, ended)
	}
}
