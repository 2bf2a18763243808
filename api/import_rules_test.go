package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestImportTextRulesAndSubjectFirst: every text field of an imported row
// follows the shared text rules (a bad one is 422 naming the line or item
// and the field, and nothing is stored), and an upload to a program that
// does not exist is 404 before its body is read (a body that is not even
// CSV gets the 404, not a 422).
func TestImportTextRulesAndSubjectFirst(t *testing.T) {
	s := newStack(t)
	s.coverageUsers()
	s.User("rita", "commercial")
	s.Must("pat", "POST", "/v1/coverage/programs", programBody("east"), http.StatusCreated, nil)

	const accounts, events = "/v1/coverage/programs/east/accounts", "/v1/coverage/programs/east/events"
	header := "id,name,industry,region\n"
	for _, c := range []struct{ body, want string }{
		{header + "acc-1,ACME,retail,east\nacc-2,Glo\x00bex,retail,east\n", "line 3, field name: contains the control character U+0000"},
		{header + "acc-1,ACME,retail,east\nacc-2,Globex,re\x1b[31mtail,east\n", "line 3, field industry: contains the control character U+001B"},
		{header + "acc-1,ACME\xff,retail,east\n", "line 2, field name: is not valid UTF-8"},
		{header + "acc-1,\"two\nlines\",retail,east\n", "line 2, field name: must be one line"},
		{header + "acc-1," + strings.Repeat("名", 201) + ",retail,east\n", "line 2, field name: is 201 characters long; the limit is 200"},
	} {
		s.failsCSV("pat", accounts, c.body, http.StatusUnprocessableEntity, c.want)
	}
	s.Fails("pat", "POST", accounts, []map[string]any{{"id": "a-1", "name": "ACME"}, {"id": "a-2", "name": "Glo\u0007bex"}},
		http.StatusUnprocessableEntity, "item 1, field name: contains the control character U+0007")
	if n := s.Count(`SELECT count(*) FROM coverage_accounts`); n != 0 {
		t.Fatalf("%d accounts stored by refused imports", n)
	}

	s.postCSV("pat", accounts, accountsCSV(3), http.StatusOK, nil)
	evHeader := "id,account,kind,by,stage,note\n"
	ok := "t-1,acc-000,sdr_touch,sid,contact_established,first call\n"
	for _, c := range []struct{ body, want string }{
		{evHeader + ok + "t-2,acc-001,sdr_touch,sid,needs_probed,\"bad \x00 note\"\n", "line 3, field note: contains the control character U+0000"},
		{evHeader + ok + "t-2,acc-001,sdr_touch,sid,needs_probed," + strings.Repeat("字", 2001) + "\n", "line 3, field note: is 2001 characters long; the limit is 2000"},
		{evHeader + ok + "t-2,acc-\u0085001,sdr_touch,sid,needs_probed,\n", "line 3, field account: contains the control character U+0085"},
	} {
		s.failsCSV("sid", events, c.body, http.StatusUnprocessableEntity, c.want)
	}
	// A note may hold line breaks and, in characters, 2,000 of any script.
	s.postCSV("sid", events, evHeader+ok+"t-2,acc-001,sdr_touch,sid,needs_probed,\"line one\nline two "+strings.Repeat("字", 1980)+"\"\n", http.StatusOK, nil)
	if n := s.Count(`SELECT count(*) FROM coverage_events`); n != 2 {
		t.Errorf("%d events stored, want the 2 of the good upload", n)
	}

	// The program first: no body is read for a program that does not exist.
	s.failsCSV("pat", "/v1/coverage/programs/west/accounts", "not,a\nvalid\"csv", http.StatusNotFound, "no coverage program")
	s.failsCSV("sid", "/v1/coverage/programs/west/events", "not,a\nvalid\"csv", http.StatusNotFound, "no coverage program")
	s.Fails("sid", "POST", "/v1/coverage/programs/west/events", "{broken", http.StatusNotFound, "no coverage program")
	// And the role: a viewer is refused before the body matters.
	s.failsCSV("vic", events, "not,a\nvalid\"csv", http.StatusForbidden, "roles")
}
