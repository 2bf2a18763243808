package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"dealflow/activities/store"
	"dealflow/api/apitest"
	"dealflow/workflows/coverage"
)

// coverageUsers creates the people of the test programs: pat runs them
// (pmo), the SDR team is lena (lead), sid and sue, BD is bo (lead) and ben,
// presales is pia (lead) and pete; vic only reads.
func (s *stack) coverageUsers() {
	s.T.Helper()
	for _, u := range []struct{ id, role string }{{"pat", "pmo"}, {"lena", "commercial"}, {"sid", "commercial"}, {"sue", "commercial"},
		{"bo", "commercial"}, {"ben", "commercial"}, {"pia", "solution"}, {"pete", "solution"}, {"vic", "viewer"}} {
		s.User(u.id, store.Role(u.role))
	}
}

// programBody is a valid program; mod changes it before it is sent.
func programBody(id string, mod ...func(map[string]any)) map[string]any {
	b := map[string]any{
		"id": id, "name": "Program " + id,
		"targets": map[string]any{"coverage_rate": 0.8, "signing_rate": 0.1, "first_pass_rate": 0.6},
		"teams": map[string]any{
			"sdr":      map[string]any{"lead": "lena", "members": []string{"sid", "sue"}},
			"bd":       map[string]any{"lead": "bo", "members": []string{"ben"}},
			"presales": map[string]any{"lead": "pia", "members": []string{"pete"}},
		},
	}
	for _, f := range mod {
		f(b)
	}
	return b
}

// programResp is a program as the API returns it.
type programResp struct {
	coverage.Program
	ScheduleID  string      `json:"schedule_id"`
	TemporalURL string      `json:"temporal_url"`
	NextRuns    []time.Time `json:"next_runs"`
}

// accountsCSV lists n accounts, the first few owned by sid.
func accountsCSV(n int) string {
	var b strings.Builder
	b.WriteString("id,name,industry,region,owner\n")
	for i := range n {
		owner := ""
		if i < 5 {
			owner = "sid"
		}
		fmt.Fprintf(&b, "acc-%03d,Customer %03d,manufacturing,east,%s\n", i, i, owner)
	}
	return b.String()
}

// postCSV sends a CSV body that must answer want, decoding into out.
func (s *stack) postCSV(as, path, body string, want int, out any) []byte {
	s.T.Helper()
	status, raw := s.CallWithType(as, "POST", path, "text/csv", body)
	if status != want {
		s.T.Fatalf("POST %s (CSV) as %s: %d %s, want %d", path, as, status, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.T.Fatalf("POST %s: %v in %s", path, err, raw)
		}
	}
	return raw
}

// failsCSV sends a CSV body that must fail with status and an error
// message containing each of want.
func (s *stack) failsCSV(as, path, body string, status int, want ...string) {
	s.T.Helper()
	got, raw := s.CallWithType(as, "POST", path, "text/csv", body)
	var e apitest.ErrorAnswer
	err := json.Unmarshal(raw, &e)
	for _, w := range want {
		if err != nil || got != status || !strings.Contains(e.Error.Message, w) {
			s.T.Errorf("POST %s (CSV): %d %s, want %d mentioning %q", path, got, raw, status, w)
		}
	}
}

// reportsOf returns a program's reports page.
func (s *stack) reportsOf(program string) coverageReportsResp {
	s.T.Helper()
	var out coverageReportsResp
	s.Must("vic", "GET", "/v1/coverage/reports?program="+program, nil, http.StatusOK, &out)
	return out
}

type coverageReportsResp struct {
	Program    string            `json:"program"`
	Latest     *coverage.Report  `json:"latest"`
	Reports    []coverage.Report `json:"reports"`
	NextBefore int64             `json:"next_before"`
}
