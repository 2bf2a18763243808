package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
	"dealflow/workflows/coverage/coveragetest"
)

func rate(v float64) *float64 { return &v }

// coverageUsers creates the people of the test programs: an SDR team (lena
// leads sid and sue), a BD team (bo leads ben), presales (pia leads pete).
func coverageUsers(t testing.TB, s *store.Store) {
	t.Helper()
	for _, id := range coveragetest.Users {
		if _, err := s.CreateUser(context.Background(), store.User{ID: id, Name: strings.ToUpper(id), Roles: []store.Role{store.RoleCommercial}}); err != nil {
			t.Fatalf("CreateUser %s: %v", id, err)
		}
	}
}

// importer posts events as an admin would: in any team member's name.
var importer = &store.User{ID: "importer", Roles: []store.Role{store.RoleAdmin}}

var testProgram = coveragetest.Program

func noSchedule(*coverage.Program) error { return nil }

func createProgram(t testing.TB, s *store.Store, p coverage.Program) *coverage.Program {
	t.Helper()
	got, err := s.CreateProgram(context.Background(), p, "tester", noSchedule)
	if err != nil {
		t.Fatalf("CreateProgram %s: %v", p.ID, err)
	}
	return got
}

var problems = coveragetest.Problems

func TestProgramDefaultsAndTeams(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	p := createProgram(t, s, testProgram("east"))
	if p.UntouchedDays != 30 || p.Schedule.TimeZone != "UTC" || p.Schedule.At != "08:00" || fmt.Sprint(p.Schedule.Weekdays) != "[monday]" {
		t.Errorf("defaults: %+v", p)
	}
	if p.Teams.SDR.Lead != "lena" || fmt.Sprint(p.Teams.SDR.Members) != "[lena sid sue]" || p.Teams.Presales.Lead != "pia" {
		t.Errorf("teams: %+v", p.Teams)
	}
	if _, err := s.CreateProgram(t.Context(), testProgram("east"), "tester", noSchedule); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second east: %v, want ErrDuplicate", err)
	}

	upd := testProgram("east")
	upd.Name = "East, renamed"
	upd.Schedule = coverage.Schedule{Weekdays: []string{"Friday", "tuesday"}, At: "17:30", TimeZone: "Asia/Shanghai"}
	upd.Teams.BD = coverage.ProgramTeam{Lead: "ben"}
	got, err := s.UpdateProgram(t.Context(), upd, noSchedule)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "East, renamed" || fmt.Sprint(got.Schedule.Weekdays) != "[tuesday friday]" || got.Teams.BD.Lead != "ben" || len(got.Teams.BD.Members) != 1 {
		t.Errorf("updated: %+v", got)
	}
	if _, err := s.SetProgramPaused(t.Context(), "east", true, noSchedule); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetProgram(t.Context(), "east"); !got.Paused {
		t.Error("not paused")
	}
	list, err := s.ListPrograms(t.Context())
	if err != nil || len(list) != 1 || list[0].Teams.SDR.Lead != "lena" {
		t.Errorf("list: %+v, %v", list, err)
	}
}

// TestProgramWriteRollsBackWhenScheduleFails: the schedule is written inside
// the program's transaction, so a Temporal failure leaves no program behind.
func TestProgramWriteRollsBackWhenScheduleFails(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	boom := errors.New("temporal down")
	if _, err := s.CreateProgram(t.Context(), testProgram("east"), "tester", func(*coverage.Program) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("create: %v", err)
	}
	if _, err := s.GetProgram(t.Context(), "east"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("program stored despite the failed schedule: %v", err)
	}
	createProgram(t, s, testProgram("east"))
	if err := s.DeleteProgram(t.Context(), "east", func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.GetProgram(t.Context(), "east"); err != nil {
		t.Errorf("program gone despite the failed schedule delete: %v", err)
	}
	if err := s.DeleteProgram(t.Context(), "east", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProgram(t.Context(), "east", func() error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

// TestProgramValidation: the model's problems (coverage.Program.Normalize,
// tested in package coverage) and the store's (users that do not exist)
// come back as a *problem.Error, and nothing is stored.
func TestProgramValidation(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	for _, c := range []struct {
		name string
		mod  func(*coverage.Program)
		want string
	}{
		{"negative rate", func(p *coverage.Program) { p.Targets.CoverageRate = rate(-0.1) }, "targets.coverage_rate: a rate is between 0 and 1"},
		{"unknown member", func(p *coverage.Program) { p.Teams.SDR.Members = []string{"zed"} }, `teams.sdr.members: "zed" is not an active user`},
		{"unknown lead", func(p *coverage.Program) { p.Teams.Presales.Lead = "zoe" }, `teams.presales.lead: "zoe"`},
	} {
		p := testProgram("bad")
		c.mod(&p)
		_, err := s.CreateProgram(t.Context(), p, "tester", noSchedule)
		if got := problems(err); !strings.Contains(got, c.want) {
			t.Errorf("%s: %v, want a *problem.Error mentioning %q", c.name, err, c.want)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_programs`); n != 0 {
		t.Errorf("%d programs stored from bad input", n)
	}
}

var accounts = coveragetest.Accounts

// eastWithAccounts is a store with the test program east (its users
// created) listing n accounts.
func eastWithAccounts(t *testing.T, n int) *store.Store {
	t.Helper()
	s := newStore(t)
	coverageUsers(t, s)
	createProgram(t, s, testProgram("east"))
	if _, err := s.ImportAccounts(t.Context(), "east", accounts(n)); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImportAccounts(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	createProgram(t, s, testProgram("east"))
	ctx := t.Context()

	got, err := s.ImportAccounts(ctx, "east", accounts(5))
	if err != nil || *got != (store.AccountImport{Received: 5, Created: 5}) {
		t.Fatalf("first import: %+v, %v", got, err)
	}
	again := accounts(6)
	again[1].Owner = "sid"
	got, err = s.ImportAccounts(ctx, "east", again)
	if err != nil || *got != (store.AccountImport{Received: 6, Created: 1, Updated: 1, Unchanged: 4}) {
		t.Fatalf("second import: %+v, %v", got, err)
	}

	for _, c := range []struct {
		name  string
		mod   func([]coverage.Account)
		index int
		field string
	}{
		{"no name", func(a []coverage.Account) { a[2].Name = " " }, 2, "name"},
		{"unknown owner", func(a []coverage.Account) { a[4].Owner = "zed" }, 4, "owner"},
		{"name of another account", func(a []coverage.Account) { a[0] = coverage.Account{ID: "new-1", Name: "customer 002"} }, 0, "name"},
	} {
		batch := accounts(8)[3:]
		for i := range batch {
			batch[i].ID = fmt.Sprintf("x-%d", i)
			batch[i].Name = fmt.Sprintf("X %d", i)
		}
		c.mod(batch)
		_, err := s.ImportAccounts(ctx, "east", batch)
		var ie *coverage.ImportError
		if !errors.As(err, &ie) || ie.Index != c.index || ie.Field != c.field {
			t.Errorf("%s: %v, want item %d field %s", c.name, err, c.index, c.field)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_accounts`); n != 6 {
		t.Errorf("%d accounts stored, want 6: a rejected import stores nothing", n)
	}
	if _, err := s.ImportAccounts(ctx, "west", accounts(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown program: %v", err)
	}
}

func TestRecordCoverageEvents(t *testing.T) {
	s := eastWithAccounts(t, 3)
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	batch := []coverage.Event{
		{ID: "t1", Account: "acc-000", Kind: coverage.EventSDRTouch, Stage: coverage.StageContactEstablished, By: "sid", At: at},
		{ID: "t2", Account: "acc-000", Kind: coverage.EventSDRTouch, Stage: coverage.StageValueConfirmed, By: "lena", At: at},
		{ID: "v1", Account: "acc-001", Kind: coverage.EventBDVisit, By: "ben", At: at},
		{ID: "g1", Account: "acc-001", Kind: coverage.EventBDSigning, By: "bo", At: at},
		{ID: "s1", Account: "acc-002", Kind: coverage.EventSolutionSubmitted, Solution: "erp", Round: 1, By: "pete", At: at},
		{ID: "r1", Account: "acc-002", Kind: coverage.EventSolutionReviewed, Solution: "erp", Round: 1, Result: coverage.ReviewApproved, By: "pia"},
	}
	got, err := s.RecordCoverageEvents(ctx, "east", importer, batch)
	if err != nil || *got != (store.EventIngest{Received: 6, Recorded: 6}) {
		t.Fatalf("first: %+v, %v", got, err)
	}
	got, err = s.RecordCoverageEvents(ctx, "east", importer, batch)
	if err != nil || *got != (store.EventIngest{Received: 6, Recorded: 0, Duplicates: 6}) {
		t.Fatalf("again: %+v, %v", got, err)
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_events WHERE id = 'r1' AND at > now() - interval '1 minute'`); n != 1 {
		t.Error("an event without a time is not stamped now")
	}

	good := func() []coverage.Event {
		return []coverage.Event{
			{ID: "n1", Account: "acc-000", Kind: coverage.EventSDRTouch, Stage: coverage.StageNeedsProbed, By: "sue"},
			{ID: "n2", Account: "acc-001", Kind: coverage.EventBDVisit, By: "ben"},
		}
	}
	for _, c := range []struct {
		name  string
		mod   func([]coverage.Event)
		index int
		field string
	}{
		{"unknown account", func(e []coverage.Event) { e[1].Account = "acc-999" }, 1, "account"},
		{"not on the team", func(e []coverage.Event) { e[0].By = "ben" }, 0, "by"},
		{"not on any team", func(e []coverage.Event) { e[1].By = "olga" }, 1, "by"},
		{"bad kind", func(e []coverage.Event) { e[1].Kind = "lunch" }, 1, "kind"},
	} {
		batch := good()
		c.mod(batch)
		_, err := s.RecordCoverageEvents(ctx, "east", importer, batch)
		var ie *coverage.ImportError
		if !errors.As(err, &ie) || ie.Index != c.index || ie.Field != c.field {
			t.Errorf("%s: %v, want item %d field %s", c.name, err, c.index, c.field)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_events`); n != 6 {
		t.Errorf("%d events stored, want 6: a rejected batch stores nothing", n)
	}
}

// TestCoverageEventAuthors: RecordCoverageEvents applies the authorship
// rule (coverage.CheckEventAuthor, tested in package coverage) inside its
// transaction, and stores nothing of a refused batch.
func TestCoverageEventAuthors(t *testing.T) {
	user := func(id string, roles ...store.Role) *store.User { return &store.User{ID: id, Roles: roles} }
	s := eastWithAccounts(t, 2)
	ctx := t.Context()
	ben := user("ben", store.RoleCommercial)
	batch := []coverage.Event{
		{ID: "v1", Account: "acc-000", Kind: coverage.EventBDVisit, By: "ben"},
		{ID: "g1", Account: "acc-000", Kind: coverage.EventBDSigning, By: "bo"},
	}
	var ae *coverage.AuthorError
	if _, err := s.RecordCoverageEvents(ctx, "east", ben, batch); !errors.As(err, &ae) || ae.EventID != "g1" {
		t.Errorf("ben signing for bo: %v", err)
	}
	if _, err := s.RecordCoverageEvents(ctx, "east", user("olga", store.RoleCommercial), batch[:1]); !errors.As(err, &ae) {
		t.Errorf("olga, off the teams: %v", err)
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_events`); n != 0 {
		t.Errorf("%d events stored by refused batches", n)
	}
	if got, err := s.RecordCoverageEvents(ctx, "east", ben, batch[:1]); err != nil || got.Recorded != 1 {
		t.Errorf("ben's own visit: %+v %v", got, err)
	}
	if got, err := s.RecordCoverageEvents(ctx, "east", user("bo", store.RoleCommercial), batch[1:]); err != nil || got.Recorded != 1 {
		t.Errorf("bo, the lead: %+v %v", got, err)
	}
	if _, err := s.RecordCoverageEvents(ctx, "east", nil, batch); err == nil {
		t.Error("no caller accepted")
	}
}
