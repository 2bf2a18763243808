package api_test

import (
	"net/http"
	"testing"

	"dealflow/activities/store"
)

const activitiesCSVHeader = "id,rep,kind,at,outcome\n"

// TestFunnelIngestion: JSON and CSV on one endpoint; the same ids again
// change nothing; a lead sent again with its conversion moves on.
func TestFunnelIngestion(t *testing.T) {
	s := newStack(t)
	s.funnelUsers()
	acts := []map[string]any{
		{"id": "c-1", "rep": "rita", "kind": "call", "at": "2026-07-01T09:30:00+08:00", "outcome": "reached"},
		{"id": "c-2", "rep": "sam", "kind": "visit", "at": "2026-07-01T14:00:00+08:00"},
	}
	csv := activitiesCSVHeader + "c-1,rita,call,2026-07-01T09:30:00+08:00,reached\nc-3,tom,demo,2026-07-02T10:00:00+08:00,\n"
	for i, step := range []struct {
		csv  bool
		want store.FunnelIngest
	}{
		{false, store.FunnelIngest{Received: 2, Stored: 2}},
		{false, store.FunnelIngest{Received: 2, Unchanged: 2}},
		{true, store.FunnelIngest{Received: 2, Stored: 1, Unchanged: 1}}, // c-1 again, c-3 new
		{true, store.FunnelIngest{Received: 2, Unchanged: 2}},
	} {
		var got store.FunnelIngest
		if step.csv {
			s.postCSV("pat", "/v1/funnel/activities", csv, http.StatusOK, &got)
		} else {
			s.Must("pat", "POST", "/v1/funnel/activities", acts, http.StatusOK, &got)
		}
		if got != step.want {
			t.Errorf("upload %d: %+v, want %+v", i+1, got, step.want)
		}
	}
	if n := s.Count(`SELECT count(*) FROM funnel_activities`); n != 3 {
		t.Fatalf("%d activities stored, want 3", n)
	}

	leads := []map[string]any{
		{"id": "l-1", "rep": "rita", "created_at": "2026-07-01T10:00:00+08:00"},
		{"id": "l-2", "rep": "sam", "created_at": "2026-07-01T11:00:00+08:00", "qualified_at": "2026-07-03T11:00:00+08:00"},
	}
	var got store.FunnelIngest
	s.Must("mona", "POST", "/v1/funnel/leads", leads, http.StatusOK, &got)
	if got != (store.FunnelIngest{Received: 2, Stored: 2}) {
		t.Errorf("leads: %+v", got)
	}
	s.Must("mona", "POST", "/v1/funnel/leads", leads, http.StatusOK, &got)
	if got != (store.FunnelIngest{Received: 2, Unchanged: 2}) {
		t.Errorf("leads again: %+v", got)
	}
	converted := "id,rep,created_at,qualified_at,converted_at,amount\n" +
		"l-2,sam,2026-07-01T11:00:00+08:00,2026-07-03T11:00:00+08:00,2026-07-08T16:00:00+08:00,125000.50\n"
	for i, want := range []store.FunnelIngest{{Received: 1, Stored: 1}, {Received: 1, Unchanged: 1}} {
		s.postCSV("mona", "/v1/funnel/leads", converted, http.StatusOK, &got)
		if got != want {
			t.Errorf("conversion %d: %+v, want %+v", i+1, got, want)
		}
	}
	var amount float64
	if err := s.Store.DB().QueryRowContext(t.Context(), `SELECT amount FROM funnel_leads WHERE id = 'l-2'`).Scan(&amount); err != nil || amount != 125000.5 {
		t.Errorf("l-2's amount %v (%v)", amount, err)
	}
}

// TestFunnelIngestionErrors: a bad line or item is 422 naming it and the
// field, and nothing of the upload is stored.
func TestFunnelIngestionErrors(t *testing.T) {
	s := newStack(t)
	s.funnelUsers()
	s.Must("pat", "POST", "/v1/funnel/activities", []map[string]any{
		{"id": "c-1", "rep": "rita", "kind": "call", "at": "2026-07-01T09:30:00+08:00"}}, http.StatusOK, nil)
	good := "c-2,rita,call,2026-07-01T09:30:00+08:00,\n"
	for _, c := range []struct {
		body string
		want []string
	}{
		{activitiesCSVHeader + good + "c-3,rita,\"call,2026-07-01T09:30:00+08:00,\n", []string{"line 3", "malformed CSV"}},
		{activitiesCSVHeader + good + "c-3,rita,call\n", []string{"line 3", "malformed CSV"}},
		{activitiesCSVHeader + good + "c-3,rita,email,2026-07-01T09:30:00+08:00,\n", []string{"line 3, field kind", `"email" is not an activity kind`}},
		{activitiesCSVHeader + good + "c-3,rita,call,yesterday,\n", []string{"line 3, field at", "RFC 3339"}},
		{activitiesCSVHeader + good + "c-3,zed,call,2026-07-01T09:30:00+08:00,\n", []string{"line 3, field rep", `unknown rep "zed"`}},
		{activitiesCSVHeader + good + ",rita,call,2026-07-01T09:30:00+08:00,\n", []string{"line 3, field id", "required"}},
		{activitiesCSVHeader + good + good, []string{"line 3, field id", `"c-2" repeats the id of line 2`}},
		{"id,rep,kind,outcome\n" + "c-3,rita,call,x\n", []string{"line 1, field at", "required column missing"}},
		{"id,rep,kind,at,mood\n", []string{"line 1, field mood", "unknown column"}},
	} {
		s.failsCSV("pat", "/v1/funnel/activities", c.body, http.StatusUnprocessableEntity, append(c.want, "nothing was imported")...)
	}
	ok := map[string]any{"id": "j-1", "rep": "rita", "kind": "call", "at": "2026-07-01T09:30:00+08:00"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{"id": "j-2", "rep": "rita", "kind": "demo", "at": "2026-07-01T10:30:00+08:00"}
		m[k] = v
		return m
	}
	for _, c := range []struct {
		body   any
		status int
		want   string
	}{
		{[]any{ok, with("kind", "lunch")}, 422, "item 1, field kind"},
		{[]any{ok, with("at", 5)}, 422, "item 1, field at: must be a string"},
		{[]any{ok, with("colour", "red")}, 422, "item 1, field colour: unknown field"},
		{[]any{ok, with("rep", "zed")}, 422, `item 1, field rep: unknown rep "zed"`},
		{[]any{ok, with("id", "j-1")}, 422, "item 1, field id"},
		{[]any{ok, "call"}, 422, "item 1, field item: must be an object"},
		{ok, 400, "must be an array"},
		{[]any{}, 400, "nothing to import"},
	} {
		s.Fails("pat", "POST", "/v1/funnel/activities", c.body, c.status, c.want)
	}
	if status, _ := s.CallWithType("pat", "POST", "/v1/funnel/activities", "text/plain", "id,rep\n"); status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d, want 415", status)
	}
	s.Fails("rita", "POST", "/v1/funnel/activities", []any{ok}, http.StatusForbidden, "pmo, director")

	leadsHeader := "id,rep,created_at,qualified_at,converted_at,amount\n"
	for _, c := range []struct {
		body string
		want []string
	}{
		{leadsHeader + "l-1,rita,2026-07-01T10:00:00+08:00,,2026-07-05T10:00:00+08:00,12k\n", []string{"line 2, field amount", `"12k" is not a number`}},
		{leadsHeader + "l-1,rita,2026-07-01T10:00:00+08:00,,2026-07-05T10:00:00+08:00,\n", []string{"line 2, field amount", "required when converted_at is set"}},
		{leadsHeader + "l-1,rita,2026-07-01T10:00:00+08:00,,2026-07-05T10:00:00+08:00,-5\n", []string{"line 2, field amount", "0 or more"}},
		{leadsHeader + "l-1,rita,2026-07-01T10:00:00+08:00,2026-06-01T10:00:00+08:00,,\n", []string{"line 2, field qualified_at", "before created_at"}},
	} {
		s.failsCSV("pat", "/v1/funnel/leads", c.body, http.StatusUnprocessableEntity, c.want...)
	}
	if a, l := s.Count(`SELECT count(*) FROM funnel_activities`), s.Count(`SELECT count(*) FROM funnel_leads`); a != 1 || l != 0 {
		t.Errorf("%d activities and %d leads stored; want only the first upload's activity", a, l)
	}
}
