package api_test

import (
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/funnel"
)

// funnelUsers creates the people of the funnel tests: pat runs sales
// operations (pmo), mona manages the reps rita, sam and tom (commercial),
// vic only reads.
func (s *stack) funnelUsers() {
	s.T.Helper()
	for _, u := range []struct{ id, role string }{{"pat", "pmo"}, {"mona", "director"},
		{"rita", "commercial"}, {"sam", "commercial"}, {"tom", "commercial"}, {"vic", "viewer"}} {
		s.User(u.id, store.Role(u.role))
	}
}

// funnelTargetBody is a valid target over [start, end]; mod changes it
// before it is sent.
func funnelTargetBody(id string, start, end time.Time, mod ...func(map[string]any)) map[string]any {
	b := map[string]any{
		"id": id, "name": "Target " + id, "scope": "east", "manager": "mona", "reps": []string{"rita", "sam", "tom"},
		"period_start": start.Format(time.DateOnly), "period_end": end.Format(time.DateOnly),
		"revenue_target": 2_000_000, "avg_deal_size": 50_000, "conversion_rate": 0.2, "leads_per_activity": 0.4,
		"time_zone": "Asia/Shanghai",
	}
	for _, f := range mod {
		f(b)
	}
	return b
}

// funnelTargetResp is a target as the API returns it.
type funnelTargetResp struct {
	funnel.Target
	Plan        funnel.Plan `json:"plan"`
	ScheduleID  string      `json:"schedule_id"`
	TemporalURL string      `json:"temporal_url"`
	NextRuns    []time.Time `json:"next_runs"`
}
