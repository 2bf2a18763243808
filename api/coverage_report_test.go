package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
)

// monthOfEvents generates a month and a half of the teams' work on the
// accounts acc-000..acc-(n-1), before now, from a fixed seed. No event
// falls within two hours of now-window, so the few seconds between this
// and the report's as_of cannot move one across the window's edge.
func monthOfEvents(n int, now time.Time, window int) []map[string]any {
	r := rand.New(rand.NewPCG(7, 11))
	edge := now.AddDate(0, 0, -window)
	when := func() string {
		for {
			t := now.Add(-time.Duration(r.Int64N(int64(45 * 24 * time.Hour)))).Truncate(time.Second)
			if t.Sub(edge).Abs() > 2*time.Hour && now.Sub(t) > time.Hour {
				return t.Format(time.RFC3339)
			}
		}
	}
	var evs []map[string]any
	add := func(e map[string]any) {
		e["id"] = fmt.Sprintf("ev-%05d", len(evs))
		e["at"] = when()
		evs = append(evs, e)
	}
	sdr, stages := []string{"lena", "sid", "sue"}, []string{"contact_established", "needs_probed", "value_confirmed"}
	for i := range n {
		acc := fmt.Sprintf("acc-%03d", i)
		for range r.IntN(4) {
			add(map[string]any{"account": acc, "kind": "sdr_touch", "stage": stages[r.IntN(3)], "by": sdr[r.IntN(3)]})
		}
		if r.IntN(3) == 0 {
			add(map[string]any{"account": acc, "kind": "bd_visit", "by": "ben"})
		}
		if r.IntN(8) == 0 {
			add(map[string]any{"account": acc, "kind": "bd_signing", "by": "bo"})
		}
		if r.IntN(3) == 0 {
			add(map[string]any{"account": acc, "kind": "solution_submitted", "solution": "proposal", "round": 1, "by": "pete"})
			result := []string{"approved", "rejected"}[r.IntN(2)]
			add(map[string]any{"account": acc, "kind": "solution_reviewed", "solution": "proposal", "round": 1, "result": result, "by": "pia"})
			if result == "rejected" {
				add(map[string]any{"account": acc, "kind": "solution_reviewed", "solution": "proposal", "round": 2, "result": "approved", "by": "pia"})
			}
		}
	}
	return evs
}

// expectCoverage computes the counts from the definitions in
// docs/coverage.md, in plain Go over the generated events.
func expectCoverage(n int, evs []map[string]any, asOf time.Time, window int) (coverage.Counts, int) {
	since := asOf.AddDate(0, 0, -window)
	covered, qualified, signed, touched := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	reviewed, firstPass := map[string]bool{}, map[string]bool{}
	solutions := map[string]bool{}
	for _, e := range evs {
		at, _ := time.Parse(time.RFC3339, e["at"].(string))
		acc, kind := e["account"].(string), e["kind"].(string)
		switch kind {
		case "sdr_touch":
			covered[acc] = true
			if e["stage"] == "value_confirmed" {
				qualified[acc] = true
			}
		case "bd_signing":
			signed[acc] = true
		case "solution_submitted":
			solutions[acc] = true
		case "solution_reviewed":
			solutions[acc], reviewed[acc] = true, true
			if e["round"] == 1 && e["result"] == "approved" {
				firstPass[acc] = true
			}
		}
		if (kind == "sdr_touch" || kind == "bd_visit" || kind == "bd_signing") && at.After(since) {
			touched[acc] = true
		}
	}
	c := coverage.Counts{Accounts: n, AccountsCovered: len(covered), AccountsTouched: len(touched),
		AccountsQualified: len(qualified), AccountsSigned: len(signed),
		SolutionsSubmitted: len(solutions), SolutionsReviewed: len(reviewed), SolutionsFirstPass: len(firstPass)}
	return c, n - len(touched)
}

func eventsCSV(evs []map[string]any) string {
	var b strings.Builder
	b.WriteString("id,account,kind,by,at,stage,solution,round,result\n")
	for _, e := range evs {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", e["id"], e["account"], e["kind"], e["by"], e["at"],
			str(e["stage"]), str(e["solution"]), str(e["round"]), str(e["result"]))
	}
	return b.String()
}

// str is a CSV cell: empty for a missing field.
func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// TestCoverageReportThroughTheAPI: accounts imported as CSV, a month of
// events posted as JSON and as CSV (and posted again, changing nothing),
// then "run now": the report's counts and rates are those computed
// independently, and each team lead has a notice.
func TestCoverageReportThroughTheAPI(t *testing.T) {
	s := newStack(t)
	s.coverageUsers()
	const accounts, window = 120, 14
	s.Must("pat", "POST", "/v1/coverage/programs", programBody("east", func(b map[string]any) {
		b["untouched_days"] = window
		b["schedule"] = map[string]any{"time_zone": "Europe/Berlin"}
	}), http.StatusCreated, nil)

	var imported store.AccountImport
	s.postCSV("pat", "/v1/coverage/programs/east/accounts", accountsCSV(accounts), http.StatusOK, &imported)
	if imported != (store.AccountImport{Received: accounts, Created: accounts}) {
		t.Errorf("import %+v", imported)
	}
	s.postCSV("pat", "/v1/coverage/programs/east/accounts", accountsCSV(accounts), http.StatusOK, &imported)
	if imported != (store.AccountImport{Received: accounts, Unchanged: accounts}) {
		t.Errorf("import again %+v", imported)
	}

	evs := monthOfEvents(accounts, time.Now(), window)
	half := len(evs) / 2
	var ingest store.EventIngest
	s.Must("pat", "POST", "/v1/coverage/programs/east/events", evs[:half], http.StatusOK, &ingest)
	if ingest != (store.EventIngest{Received: half, Recorded: half}) {
		t.Errorf("JSON events %+v", ingest)
	}
	s.postCSV("pat", "/v1/coverage/programs/east/events", eventsCSV(evs[half:]), http.StatusOK, &ingest)
	if ingest != (store.EventIngest{Received: len(evs) - half, Recorded: len(evs) - half}) {
		t.Errorf("CSV events %+v", ingest)
	}
	// Idempotent re-ingestion: the same events again, either way, record nothing.
	s.Must("pat", "POST", "/v1/coverage/programs/east/events", evs, http.StatusOK, &ingest)
	if ingest != (store.EventIngest{Received: len(evs), Duplicates: len(evs)}) {
		t.Errorf("events again %+v", ingest)
	}
	s.postCSV("pat", "/v1/coverage/programs/east/events", eventsCSV(evs), http.StatusOK, &ingest)
	if ingest.Duplicates != len(evs) {
		t.Errorf("CSV events again %+v", ingest)
	}

	var rep coverage.Report
	s.Must("pat", "POST", "/v1/coverage/programs/east/run", nil, http.StatusCreated, &rep)
	want, untouched := expectCoverage(accounts, evs, rep.AsOf, window)
	t.Logf("%d events: %+v", len(evs), want)
	if rep.Counts != want || rep.Untouched.Total != untouched || len(rep.Untouched.Accounts) != min(untouched, coverage.UntouchedListCap) {
		t.Errorf("report counts %+v, untouched %d (%d listed)\nwant %+v, untouched %d", rep.Counts, rep.Untouched.Total, len(rep.Untouched.Accounts), want, untouched)
	}
	if want.SolutionsFirstPass == 0 || want.SolutionsFirstPass == want.SolutionsReviewed || untouched == 0 || want.AccountsSigned == 0 {
		t.Fatalf("the synthetic month does not exercise every figure: %+v", want)
	}
	for _, r := range []struct {
		name string
		got  *float64
		n, d int
	}{
		{"coverage", rep.Rates.CoverageRate, want.AccountsCovered, want.Accounts},
		{"touch", rep.Rates.TouchRate, want.AccountsTouched, want.Accounts},
		{"penetration", rep.Rates.PenetrationRate, want.AccountsQualified, want.Accounts},
		{"signing", rep.Rates.SigningRate, want.AccountsSigned, want.Accounts},
		{"first pass", rep.Rates.FirstPassRate, want.SolutionsFirstPass, want.SolutionsReviewed},
	} {
		if r.got == nil || *r.got != float64(r.n)/float64(r.d) {
			t.Errorf("%s rate %v, want %d/%d", r.name, r.got, r.n, r.d)
		}
	}
	if rep.Trigger != "manual" || rep.UntouchedDays != window || rep.Leads[coverage.TeamSDR] != "lena" {
		t.Errorf("report %+v", rep)
	}

	// The report reads back, and each lead has a notice about it.
	var again coverage.Report
	s.Must("vic", "GET", fmt.Sprintf("/v1/coverage/reports/%d", rep.ID), nil, http.StatusOK, &again)
	if again.ID != rep.ID || again.Counts != rep.Counts || len(again.Untouched.Accounts) != len(rep.Untouched.Accounts) {
		t.Errorf("read back %+v", again)
	}
	s.Fails("vic", "GET", "/v1/coverage/reports/999999", nil, http.StatusNotFound, "no coverage report 999999")
	s.Fails("vic", "GET", "/v1/coverage/reports/latest", nil, http.StatusBadRequest, "a report id is a number")
	s.Fails("vic", "GET", "/v1/coverage/reports", nil, http.StatusBadRequest, "program is required")
	var notified []string
	if err := s.Store.DB().SelectContext(t.Context(), &notified,
		`SELECT recipient FROM outbox WHERE deal_id = 'coverage/east' AND seq = $1 ORDER BY recipient`, rep.ID); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(notified, []string{"bo", "lena", "pia"}) {
		t.Errorf("notified %v, want the three leads", notified)
	}
}
