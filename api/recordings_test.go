package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"

	"dealflow/activities"
	"dealflow/activities/store"
	"dealflow/api/apitest"
	"dealflow/workflows"
)

type countParked struct{ n atomic.Int64 }

func (c *countParked) Inc() { c.n.Add(1) }

// refuseRecordings makes Postgres refuse every audit event of one deal for
// good (a check_violation, as a constraint or a bad value would); repair
// undoes it.
func (s *stack) refuseRecordings(deal string) (repair func()) {
	s.T.Helper()
	db := s.Store.DB()
	for _, q := range []string{`
CREATE OR REPLACE FUNCTION refuse_deal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.deal_id = TG_ARGV[0] THEN
		RAISE EXCEPTION 'audit events of deal % refused for the test', NEW.deal_id USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$`, `CREATE TRIGGER refuse_deal BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_deal('` + deal + `')`} {
		if _, err := db.ExecContext(s.T.Context(), q); err != nil {
			s.T.Fatal(err)
		}
	}
	return func() {
		s.T.Helper()
		if _, err := db.ExecContext(s.T.Context(), `DROP TRIGGER refuse_deal ON audit_events`); err != nil {
			s.T.Fatal(err)
		}
	}
}

type recordingResp struct {
	Recording *struct {
		Parked int       `json:"parked"`
		Since  time.Time `json:"since"`
		Error  string    `json:"error"`
	} `json:"recording"`
}

func (s *stack) recording(id string) *recordingResp {
	s.T.Helper()
	var r recordingResp
	s.Must("root", "GET", "/v1/deals/"+id, nil, http.StatusOK, &r)
	return &r
}

// details is what the Temporal UI shows as the workflow's current details.
func (s *stack) details(id string) string {
	s.T.Helper()
	v, err := s.Temporal.QueryWorkflow(s.T.Context(), workflows.DealWorkflowID(id), "", "__temporal_workflow_metadata")
	if err != nil {
		s.T.Fatal(err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		s.T.Fatal(err)
	}
	return md.GetCurrentDetails()
}

// TestRefusedRecordingIsParkedAndReplayed injects a permanent refusal of a
// deal's recordings: the actions still answer 200; the changes are parked,
// not dropped; the deal's answer, the Temporal UI's details, the metric and
// the admins' notifications say so. After the repair, the admin route (and,
// the second time, the workflow's own backoff timer) replays them; a deal
// closed meanwhile waits for its record before its workflow ends. In the
// end the audit trail, the read model and the outbox hold every event
// exactly once.
func TestRefusedRecordingIsParkedAndReplayed(t *testing.T) {
	backoff := workflows.ParkedRetryBackoff
	workflows.ParkedRetryBackoff.First, workflows.ParkedRetryBackoff.Max = 500*time.Millisecond, 2*time.Second
	t.Cleanup(func() { workflows.ParkedRetryBackoff = backoff })
	parked := &countParked{}
	s := &stack{apitest.New(t, apitest.WithActivities(func(a *activities.Activities) { a.Parked = parked }))}
	s.standardUsers()
	const id = "parked"
	s.teamDeal(id)
	s.Projected(id)

	// 1. Refused: parked, and raised everywhere operators look.
	repair := s.refuseRecordings(id)
	s.Must("cora", "POST", "/v1/deals/"+id+"/buyer-stage", map[string]any{"stage": "contact_added", "note": "first contact"}, http.StatusOK, nil)
	s.submitOnly("cora", id, "prospect")
	s.Eventually("both changes parked", func() bool {
		r := s.recording(id).Recording
		return r != nil && r.Parked == 2
	})
	if r := s.recording(id).Recording; !strings.Contains(r.Error, "refused for the test") || r.Since.IsZero() {
		t.Errorf("recording %+v", r)
	}
	if n := parked.n.Load(); n != 2 {
		t.Errorf("parked counter %d, want 2", n)
	}
	s.Eventually("the record shown behind in the Temporal UI", func() bool {
		return strings.Contains(s.details(id), "record behind")
	})
	var notices int
	if err := s.Store.DB().GetContext(t.Context(), &notices, `SELECT count(*) FROM outbox WHERE deal_id = $1 AND recipient = 'root' AND kind = $2`,
		"recording/"+id, store.AdminNoticeKind); err != nil || notices != 1 {
		t.Errorf("admin notices %d (%v), want 1", notices, err)
	}
	var list struct {
		Parked []store.ParkedChange `json:"parked"`
	}
	s.Must("root", "GET", "/v1/admin/recordings", nil, http.StatusOK, &list)
	if len(list.Parked) != 2 || list.Parked[0].DealID != id || list.Parked[0].Version >= list.Parked[1].Version {
		t.Errorf("parked list %+v", list.Parked)
	}
	s.Fails("pat", "GET", "/v1/admin/recordings", nil, http.StatusForbidden, "")
	// Still refused: a replay goes nowhere.
	var rep store.ReplayReport
	s.Must("root", "POST", "/v1/admin/recordings/"+id+"/retry", nil, http.StatusOK, &rep)
	if rep.Parked != 2 || rep.Replayed != 0 {
		t.Errorf("replay before the repair: %+v", rep)
	}

	// 2. Repaired, replayed by an admin: nothing lost.
	repair()
	s.Must("root", "POST", "/v1/admin/recordings/"+id+"/retry", nil, http.StatusOK, &rep)
	if rep.Parked != 0 || rep.Replayed < 1 {
		t.Errorf("replay after the repair: %+v", rep)
	}
	if r := s.recording(id).Recording; r != nil {
		t.Errorf("still behind after the replay: %+v", r)
	}
	s.Projected(id)
	s.Eventually("the Temporal UI's details to catch up (the workflow's next retry)", func() bool {
		return !strings.Contains(s.details(id), "record behind")
	})

	// 3. Refused again, then the deal closes: the workflow waits for its
	// record, and its own retries record everything after the repair.
	repair = s.refuseRecordings(id)
	s.submitOnly("cora", id, "needs-analysis")
	s.Must("pat", "POST", "/v1/deals/"+id+"/close", map[string]any{"outcome": "lost", "reason": "budget cut"}, http.StatusOK, nil)
	s.Eventually("the closing change parked", func() bool {
		r := s.recording(id).Recording
		return r != nil && r.Parked == 2
	})
	time.Sleep(3 * time.Second) // several retries, all refused
	if st := s.workflowStatus(id); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the deal's workflow is %s with its record behind; it must wait", st)
	}
	repair()
	s.Eventually("the workflow's own retry to record everything and end", func() bool {
		return s.recording(id).Recording == nil && s.workflowStatus(id) == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	final := s.Projected(id)
	if final.Status != "lost" {
		t.Errorf("read model status %s", final.Status)
	}
	s.OutboxComplete(id)
	if n := s.Count(`SELECT count(*) FROM outbox WHERE deal_id = $1`, id); n == 0 {
		t.Errorf("the outbox holds no notifications of the deal")
	}
	if n := parked.n.Load(); n != 4 {
		t.Errorf("parked counter %d, want 4", n)
	}
	if left := s.Count(`SELECT count(*) FROM parked_changes`); left != 0 {
		t.Errorf("%d changes still parked", left)
	}
	fmt.Fprint(testWriter{t}, s.details(id))
}

// submitOnly submits a milestone without waiting for its recording.
func (s *stack) submitOnly(as, id, key string) {
	s.T.Helper()
	d := s.Deal(as, id)
	s.Must(as, "POST", "/v1/deals/"+id+"/milestones/"+key+"/submit", map[string]any{"checklist": d.Milestone(key).Checklist}, http.StatusOK, nil)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func (s *stack) workflowStatus(id string) enums.WorkflowExecutionStatus {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(s.T.Context(), 5*time.Second)
	defer cancel()
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.DealWorkflowID(id), "")
	if err != nil {
		s.T.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus()
}

// TestNULInANoteDoesNotSilenceTheDeal is the case: a NUL in a note.
// The model may refuse it (422); if it takes it (state from before it
// did), the store records it as U+FFFD. Either way the deal's record stays
// complete and later changes are recorded.
func TestNULInANoteDoesNotSilenceTheDeal(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	const id = "nul-note"
	s.teamDeal(id)
	s.Projected(id)
	status, raw := s.Call("cora", "POST", "/v1/deals/"+id+"/buyer-stage", `{"stage":"contact_added","note":"x\u0000y"}`)
	if status != http.StatusOK && status != http.StatusUnprocessableEntity {
		t.Fatalf("buyer stage with a NUL: %d %s", status, raw)
	}
	s.Projected(id)
	s.Submit("cora", id, "prospect")
	if r := s.recording(id).Recording; r != nil {
		t.Errorf("record behind: %+v", r)
	}
	if status == http.StatusOK {
		var note string
		if err := s.Store.DB().GetContext(t.Context(), &note, `SELECT data->>'note' FROM audit_events WHERE deal_id = $1 AND data ? 'note'`, id); err != nil || note != "x\uFFFDy" {
			t.Errorf("stored note %q (%v), want x\uFFFDy", note, err)
		}
	}
}
