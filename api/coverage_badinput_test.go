package api_test

import (
	"errors"
	"net/http"
	"testing"

	"go.temporal.io/api/serviceerror"
)

// TestCoverageBadInput: bad programs, account files and event batches are
// refused with a 4xx naming the line (or item) and field, and nothing of
// them is stored: no program, no schedule, no account, no event.
func TestCoverageBadInput(t *testing.T) {
	s := newStack(t)
	s.coverageUsers()

	for _, c := range []struct {
		name string
		mod  func(map[string]any)
		want string
	}{
		{"negative rate", func(b map[string]any) { b["targets"].(map[string]any)["coverage_rate"] = -0.2 }, "targets.coverage_rate: a rate is between 0 and 1"},
		{"rate above 1", func(b map[string]any) { b["targets"].(map[string]any)["first_pass_rate"] = 1.2 }, "targets.first_pass_rate"},
		{"missing target", func(b map[string]any) { delete(b["targets"].(map[string]any), "signing_rate") }, "targets.signing_rate: a target"},
		{"unknown rep", func(b map[string]any) {
			b["teams"].(map[string]any)["sdr"] = map[string]any{"lead": "lena", "members": []string{"zed"}}
		}, `teams.sdr.members: "zed" is not an active user`},
		{"bad zone", func(b map[string]any) { b["schedule"] = map[string]any{"time_zone": "Asia/Atlantis"} }, "schedule.time_zone"},
		{"bad time", func(b map[string]any) { b["schedule"] = map[string]any{"at": "8am"} }, "schedule.at"},
		{"bad window", func(b map[string]any) { b["untouched_days"] = -1 }, "untouched_days"},
	} {
		s.Fails("pat", "POST", "/v1/coverage/programs", programBody("bad", c.mod), http.StatusUnprocessableEntity, c.want)
	}
	s.Fails("pat", "POST", "/v1/coverage/programs", programBody("bad", func(b map[string]any) { b["colour"] = "red" }), http.StatusBadRequest, "unknown field")
	var notFound *serviceerror.NotFound
	if _, err := s.describe("coverage/bad"); !errors.As(err, &notFound) {
		t.Errorf("a refused program has a schedule: %v", err)
	}
	s.Fails("vic", "GET", "/v1/coverage/programs/bad", nil, http.StatusNotFound, "no coverage program")

	s.Must("pat", "POST", "/v1/coverage/programs", programBody("east"), http.StatusCreated, nil)
	s.Fails("pat", "PUT", "/v1/coverage/programs/east", programBody("east", func(b map[string]any) {
		b["targets"].(map[string]any)["signing_rate"] = 7
	}), http.StatusUnprocessableEntity, "targets.signing_rate")
	s.Fails("pat", "PUT", "/v1/coverage/programs/east", programBody("west"), http.StatusBadRequest, "cannot change")
	s.Fails("pat", "PUT", "/v1/coverage/programs/west", programBody("west"), http.StatusNotFound, "no coverage program")

	const accounts = "/v1/coverage/programs/east/accounts"
	for _, c := range []struct{ body, want string }{
		{"id,name,industry,region\nacc-1,ACME,retail,east\nacc-2,,retail,east\n", "line 3, field name"},
		{"id,name,industry,region\nacc-1,ACME,retail,east\nacc-1,Globex,retail,east\n", "line 3, field id: account acc-1 appears twice"},
		{"id,name,industry,region,owner\nacc-1,ACME,retail,east,zed\n", `line 2, field owner: "zed" is not an active user`},
		{"id,name,industry\nacc-1,ACME,retail\n", "line 1, field region: required column missing"},
		{"id,name,industry,region,colour\n", "line 1, field colour: unknown column"},
		{"id,name,industry,region\nacc-1,ACME,retail\n", "line 2: malformed CSV"},
	} {
		s.failsCSV("pat", accounts, c.body, http.StatusUnprocessableEntity, c.want)
	}
	s.Fails("pat", "POST", accounts, []map[string]any{{"id": "a-1", "name": "ACME"}, {"id": "a-2", "name": "acme"}}, http.StatusUnprocessableEntity, "item 1, field name")
	s.Fails("pat", "POST", accounts, []map[string]any{}, http.StatusBadRequest, "no accounts")
	s.Fails("sid", "POST", accounts, []map[string]any{{"id": "a-1", "name": "ACME"}}, http.StatusForbidden, "roles")
	s.Fails("pat", "POST", "/v1/coverage/programs/west/accounts", []map[string]any{{"id": "a-1", "name": "ACME"}}, http.StatusNotFound, "no coverage program")
	var p programResp
	if s.Must("vic", "GET", "/v1/coverage/programs/east", nil, http.StatusOK, &p); p.Accounts != 0 {
		t.Errorf("%d accounts stored by refused imports", p.Accounts)
	}

	s.postCSV("pat", accounts, accountsCSV(3), http.StatusOK, nil)
	const events = "/v1/coverage/programs/east/events"
	header := "id,account,kind,by,at,stage,solution,round,result\n"
	ok := "t-1,acc-000,sdr_touch,sid,2026-03-02T10:00:00+08:00,contact_established,,,\n"
	for _, c := range []struct{ body, want string }{
		{header + ok + "t-2,acc-999,bd_visit,ben,,,,,\n", `line 3, field account: account "acc-999" is not on program east`},
		{header + ok + "t-2,acc-001,bd_visit,sid,,,,,\n", `line 3, field by: "sid" is not on program east's bd team`},
		{header + ok + "t-2,acc-001,sdr_touch,zed,,needs_probed,,,\n", `line 3, field by: "zed"`},
		{header + "t-1,acc-000,sdr_touch,sid,yesterday,contact_established,,,\n", "line 2, field at"},
		{header + ok + "t-2,acc-001,solution_submitted,pete,,,erp,one,\n", "line 3, field round"},
		{header + ok + "t-2,acc-001,solution_reviewed,pete,,,erp,1,maybe\n", "line 3, field result"},
		{header + ok + "t-2,acc-001,sdr_touch,sid,,waved,,,\n", "line 3, field stage"},
		{header + ok + "t-2,acc-001,lunch,sid,,,,,\n", "line 3, field kind"},
		{header + ok + ok, "line 3, field id: event id t-1 appears twice"},
		{"id,account,kind\n", "line 1, field by: required column missing"},
	} {
		s.failsCSV("pat", events, c.body, http.StatusUnprocessableEntity, c.want)
	}
	s.Fails("sid", "POST", events, []map[string]any{
		{"id": "t-1", "account": "acc-000", "kind": "sdr_touch", "stage": "needs_probed", "by": "sid"},
		{"id": "t-2", "account": "acc-000", "kind": "sdr_touch", "stage": "needs_probed", "by": "sid", "at": "2026-13-01T00:00:00Z"},
	}, http.StatusUnprocessableEntity, "item 1, field at")
	s.Fails("sid", "POST", events, []map[string]any{{"id": "t-1", "account": "acc-000", "kind": "sdr_touch", "by": "sid", "round": "one"}},
		http.StatusBadRequest, "round must be a number")
	s.Fails("vic", "POST", events, []map[string]any{{"id": "t-1", "account": "acc-000", "kind": "bd_visit", "by": "ben"}}, http.StatusForbidden, "roles")
	var page coverageReportsResp
	s.Must("pat", "POST", "/v1/coverage/programs/east/run", nil, http.StatusCreated, nil)
	if page = s.reportsOf("east"); page.Latest.Counts.AccountsCovered != 0 || page.Latest.Counts.Accounts != 3 {
		t.Errorf("refused events were counted: %+v", page.Latest.Counts)
	}
	if n := s.Count(`SELECT count(*) FROM coverage_events`); n != 0 {
		t.Errorf("%d events stored by refused batches", n)
	}
}
