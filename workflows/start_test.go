package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"dealflow/workflows/deal"
)

// TestStartDealAnswersTheWorkflowsInitialState: the state StartDeal returns
// is exactly the state the workflow starts in, and the search attributes
// set at start are not upserted again by the first workflow task.
func TestStartDealAnswersTheWorkflowsInitialState(t *testing.T) {
	c, queue, _ := liveWorker(t)
	s := spec(t, "project")
	s.ID = fmt.Sprintf("start-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	initial, err := StartDeal(ctx, c, queue, s, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	l := &liveDeal{t: t, c: c, id: s.ID}
	want, _ := json.Marshal(initial)
	got, _ := json.Marshal(l.state())
	if string(got) != string(want) {
		t.Errorf("the workflow started in another state than StartDeal answered:\n got %s\nwant %s", got, want)
	}
	// (The SDK's own upsert of TemporalChangeVersion, for GetVersion, stays.)
	for _, e := range fetchHistory(t, c, DealWorkflowID(s.ID)).Events {
		for name := range e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields() {
			if _, ours := SearchAttributes()[name]; ours {
				t.Errorf("event %d upserts %s, which the start already set", e.GetEventId(), name)
			}
		}
	}
	l.act(UpdateClose, deal.CloseAction{Acting: deal.Acting{Actor: "pat"}, Outcome: deal.DealCancelled, Reason: "test over"})
}
