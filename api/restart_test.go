package api_test

import (
	"net/http"
	"testing"
	"time"

	"dealflow/workflows/deal"
)

// TestWorkerRestartLosesNothing stops the only worker while a deal's timer
// is pending and its due time passes; a new worker picks the deal up, the
// missed deadlines fire, and the read model and audit trail catch up with
// every event exactly once.
func TestWorkerRestartLosesNothing(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	s.Must("pat", "POST", "/v1/templates", map[string]any{"name": "quick",
		"escalations": []map[string]any{{"offset": "1s", "target": "director", "message": "late"}},
		"milestones": []map[string]any{
			{"key": "qualify", "title": "Qualify", "role": "commercial", "due": "2s", "checklist": []string{"Budget confirmed"}},
			{"key": "close-out", "title": "Close out", "role": "pmo", "depends_on": []string{"qualify"}, "due": "30d"}}}, http.StatusCreated, nil)
	s.Must("pat", "POST", "/v1/deals", map[string]any{"id": "restart", "name": "Restart", "customer": "Umbrella", "template": "quick",
		"team": map[string]any{"pmo": "pat", "commercial": "cora", "director": "dina"}}, http.StatusCreated, nil)
	s.Projected("restart")

	s.Worker.Stop()
	time.Sleep(4 * time.Second) // due (2s) and the escalation (3s) pass with no worker
	s.StartWorker()

	s.Eventually("the missed escalation", func() bool {
		m := s.Deal("root", "restart").Milestone("qualify")
		return m.Overdue && m.Escalation == 1
	})
	s.Submit("cora", "restart", "qualify")
	d := s.Submit("pat", "restart", "close-out")
	if d.Status != deal.DealWon {
		t.Fatalf("status %s", d.Status)
	}
	stored := s.Projected("restart")
	m := stored.Milestone("qualify")
	if len(m.Escalated) != 1 || m.Escalated[0].At.Sub(m.DueAt) != time.Second {
		t.Errorf("escalation %+v, due %s: it must be stamped with its own deadline", m.Escalated, m.DueAt)
	}
}
