package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

func rate(v float64) *float64 { return &v }

// coverageUsers creates the people of the test programs: an SDR team (lena
// leads sid and sue), a BD team (bo leads ben), presales (pia leads pete).
func coverageUsers(t testing.TB, s *store.Store) {
	t.Helper()
	for _, id := range []string{"lena", "sid", "sue", "bo", "ben", "pia", "pete", "olga"} {
		if _, err := s.CreateUser(context.Background(), store.User{ID: id, Name: strings.ToUpper(id), Roles: []store.Role{store.RoleCommercial}}); err != nil {
			t.Fatalf("CreateUser %s: %v", id, err)
		}
	}
}

// importer posts events as an admin would: in any team member's name.
var importer = &store.User{ID: "importer", Roles: []store.Role{store.RoleAdmin}}

func testProgram(id string) store.Program {
	return store.Program{
		ID: id, Name: "Program " + id,
		Targets: store.Targets{CoverageRate: rate(0.8), SigningRate: rate(0.1), FirstPassRate: rate(0.6)},
		Teams: store.ProgramTeams{
			SDR:      store.ProgramTeam{Lead: "lena", Members: []string{"sid", "sue"}},
			BD:       store.ProgramTeam{Lead: "bo", Members: []string{"ben"}},
			Presales: store.ProgramTeam{Lead: "pia", Members: []string{"pete"}},
		},
	}
}

func noSchedule(*store.Program) error { return nil }

func createProgram(t testing.TB, s *store.Store, p store.Program) *store.Program {
	t.Helper()
	got, err := s.CreateProgram(context.Background(), p, "tester", noSchedule)
	if err != nil {
		t.Fatalf("CreateProgram %s: %v", p.ID, err)
	}
	return got
}

func problems(err error) string {
	var ve *deal.ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	return ve.Error()
}

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
	upd.Schedule = store.ProgramSchedule{Weekdays: []string{"Friday", "tuesday"}, At: "17:30", TimeZone: "Asia/Shanghai"}
	upd.Teams.BD = store.ProgramTeam{Lead: "ben"}
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
	if _, err := s.CreateProgram(t.Context(), testProgram("east"), "tester", func(*store.Program) error { return boom }); !errors.Is(err, boom) {
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

func TestProgramValidation(t *testing.T) {
	s := newStore(t)
	coverageUsers(t, s)
	for _, c := range []struct {
		name string
		mod  func(*store.Program)
		want string
	}{
		{"negative rate", func(p *store.Program) { p.Targets.CoverageRate = rate(-0.1) }, "targets.coverage_rate: a rate is between 0 and 1"},
		{"rate above 1", func(p *store.Program) { p.Targets.SigningRate = rate(1.5) }, "targets.signing_rate"},
		{"missing target", func(p *store.Program) { p.Targets.FirstPassRate = nil }, "targets.first_pass_rate: a target"},
		{"bad zone", func(p *store.Program) { p.Schedule.TimeZone = "Mars/Olympus" }, "schedule.time_zone"},
		{"local zone", func(p *store.Program) { p.Schedule.TimeZone = "Local" }, "schedule.time_zone"},
		{"bad time", func(p *store.Program) { p.Schedule.At = "24:00" }, "schedule.at"},
		{"bad day", func(p *store.Program) { p.Schedule.Weekdays = []string{"someday"} }, "schedule.weekdays"},
		{"negative window", func(p *store.Program) { p.UntouchedDays = -3 }, "untouched_days"},
		{"bad id", func(p *store.Program) { p.ID = "East Side" }, "id:"},
		{"id with NUL", func(p *store.Program) { p.ID = "east\x00" }, "id: "},
		{"id with ..", func(p *store.Program) { p.ID = "a..b" }, `must not contain ".."`},
		{"name with NUL", func(p *store.Program) { p.Name = "East\x00" }, "name: contains the control character U+0000"},
		{"name too long", func(p *store.Program) { p.Name = strings.Repeat("n", 201) }, "name: is 201 characters long; the limit is 200"},
		{"member with NUL", func(p *store.Program) { p.Teams.SDR.Members = []string{"s\x00"} }, "teams.sdr.members: contains the control character"},
		{"lead invalid UTF-8", func(p *store.Program) { p.Teams.BD.Lead = "b\xff" }, "teams.bd.lead: is not valid UTF-8"},
		{"too many weekdays", func(p *store.Program) { p.Schedule.Weekdays = make([]string, 29) }, "schedule.weekdays: has 29 items; the limit is 28"},
		{"no lead", func(p *store.Program) { p.Teams.BD.Lead = "" }, "teams.bd.lead"},
		{"unknown member", func(p *store.Program) { p.Teams.SDR.Members = []string{"zed"} }, `teams.sdr.members: "zed" is not an active user`},
		{"unknown lead", func(p *store.Program) { p.Teams.Presales.Lead = "zoe" }, `teams.presales.lead: "zoe"`},
	} {
		p := testProgram("bad")
		c.mod(&p)
		_, err := s.CreateProgram(t.Context(), p, "tester", noSchedule)
		if got := problems(err); !strings.Contains(got, c.want) {
			t.Errorf("%s: %v, want a ValidationError mentioning %q", c.name, err, c.want)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_programs`); n != 0 {
		t.Errorf("%d programs stored from bad input", n)
	}
}

func accounts(n int) []store.CoverageAccount {
	out := make([]store.CoverageAccount, n)
	for i := range out {
		out[i] = store.CoverageAccount{ID: fmt.Sprintf("acc-%03d", i), Name: fmt.Sprintf("Customer %03d", i), Industry: "manufacturing", Region: "east"}
	}
	return out
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
		mod   func([]store.CoverageAccount)
		index int
		field string
	}{
		{"no name", func(a []store.CoverageAccount) { a[2].Name = " " }, 2, "name"},
		{"bad id", func(a []store.CoverageAccount) { a[1].ID = "a/b" }, 1, "id"},
		{"NUL in a name", func(a []store.CoverageAccount) { a[1].Name = "ACME\x00" }, 1, "name"},
		{"industry too long", func(a []store.CoverageAccount) { a[2].Industry = strings.Repeat("i", 201) }, 2, "industry"},
		{"region on two lines", func(a []store.CoverageAccount) { a[0].Region = "north\nsouth" }, 0, "region"},
		{"id twice", func(a []store.CoverageAccount) { a[3].ID = a[0].ID }, 3, "id"},
		{"name twice", func(a []store.CoverageAccount) { a[3].Name = strings.ToUpper(a[1].Name) }, 3, "name"},
		{"unknown owner", func(a []store.CoverageAccount) { a[4].Owner = "zed" }, 4, "owner"},
		{"name of another account", func(a []store.CoverageAccount) { a[0] = store.CoverageAccount{ID: "new-1", Name: "customer 002"} }, 0, "name"},
	} {
		batch := accounts(8)[3:]
		for i := range batch {
			batch[i].ID = fmt.Sprintf("x-%d", i)
			batch[i].Name = fmt.Sprintf("X %d", i)
		}
		c.mod(batch)
		_, err := s.ImportAccounts(ctx, "east", batch)
		var ie *store.CoverageImportError
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
	s := newStore(t)
	coverageUsers(t, s)
	createProgram(t, s, testProgram("east"))
	ctx := t.Context()
	if _, err := s.ImportAccounts(ctx, "east", accounts(3)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	batch := []store.CoverageEvent{
		{ID: "t1", Account: "acc-000", Kind: store.EventSDRTouch, Stage: store.StageContactEstablished, By: "sid", At: at},
		{ID: "t2", Account: "acc-000", Kind: store.EventSDRTouch, Stage: store.StageValueConfirmed, By: "lena", At: at},
		{ID: "v1", Account: "acc-001", Kind: store.EventBDVisit, By: "ben", At: at},
		{ID: "g1", Account: "acc-001", Kind: store.EventBDSigning, By: "bo", At: at},
		{ID: "s1", Account: "acc-002", Kind: store.EventSolutionSubmitted, Solution: "erp", Round: 1, By: "pete", At: at},
		{ID: "r1", Account: "acc-002", Kind: store.EventSolutionReviewed, Solution: "erp", Round: 1, Result: store.ReviewApproved, By: "pia"},
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

	good := func() []store.CoverageEvent {
		return []store.CoverageEvent{
			{ID: "n1", Account: "acc-000", Kind: store.EventSDRTouch, Stage: store.StageNeedsProbed, By: "sue"},
			{ID: "n2", Account: "acc-001", Kind: store.EventBDVisit, By: "ben"},
		}
	}
	for _, c := range []struct {
		name  string
		mod   func([]store.CoverageEvent)
		index int
		field string
	}{
		{"unknown account", func(e []store.CoverageEvent) { e[1].Account = "acc-999" }, 1, "account"},
		{"not on the team", func(e []store.CoverageEvent) { e[0].By = "ben" }, 0, "by"},
		{"not on any team", func(e []store.CoverageEvent) { e[1].By = "olga" }, 1, "by"},
		{"bad stage", func(e []store.CoverageEvent) { e[0].Stage = "waved" }, 0, "stage"},
		{"bad kind", func(e []store.CoverageEvent) { e[1].Kind = "lunch" }, 1, "kind"},
		{"id twice", func(e []store.CoverageEvent) { e[1].ID = "n1" }, 1, "id"},
		{"NUL in a note", func(e []store.CoverageEvent) { e[1].Note = "met\x00" }, 1, "note"},
		{"note too long", func(e []store.CoverageEvent) { e[0].Note = strings.Repeat("字", 2001) }, 0, "note"},
		{"invalid UTF-8 by", func(e []store.CoverageEvent) { e[0].By = "s\xff" }, 0, "by"},
		{"no round", func(e []store.CoverageEvent) {
			e[1] = store.CoverageEvent{ID: "n2", Account: "acc-002", Kind: store.EventSolutionSubmitted, Solution: "erp", By: "pete"}
		}, 1, "round"},
		{"bad result", func(e []store.CoverageEvent) {
			e[1] = store.CoverageEvent{ID: "n2", Account: "acc-002", Kind: store.EventSolutionReviewed, Solution: "erp", Round: 1, Result: "maybe", By: "pete"}
		}, 1, "result"},
	} {
		batch := good()
		c.mod(batch)
		_, err := s.RecordCoverageEvents(ctx, "east", importer, batch)
		var ie *store.CoverageImportError
		if !errors.As(err, &ie) || ie.Index != c.index || ie.Field != c.field {
			t.Errorf("%s: %v, want item %d field %s", c.name, err, c.index, c.field)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM coverage_events`); n != 6 {
		t.Errorf("%d events stored, want 6: a rejected batch stores nothing", n)
	}
}

// TestCoverageEventAuthors: the one rule on who posts events in whose name,
// as a table, and applied by RecordCoverageEvents (nothing stored when
// refused).
func TestCoverageEventAuthors(t *testing.T) {
	p := testProgram("east")
	p.Teams.SDR.Members = append(p.Teams.SDR.Members, "lena")
	p.Teams.BD.Members = append(p.Teams.BD.Members, "bo")
	p.Teams.Presales.Members = append(p.Teams.Presales.Members, "pia")
	user := func(id string, roles ...store.Role) *store.User { return &store.User{ID: id, Roles: roles} }
	signing := func(by string) store.CoverageEvent {
		return store.CoverageEvent{ID: "e1", Kind: store.EventBDSigning, By: by}
	}
	review := func(by string) store.CoverageEvent {
		return store.CoverageEvent{ID: "e2", Kind: store.EventSolutionReviewed, By: by}
	}
	for _, c := range []struct {
		name   string
		caller *store.User
		event  store.CoverageEvent
		want   string // "" allowed, else part of the refusal
	}{
		{"member in own name", user("ben", store.RoleCommercial), signing("ben"), ""},
		{"member in another's name", user("ben", store.RoleCommercial), signing("bo"), `in "bo"'s name, not yours (ben)`},
		{"member of another team in own name (refused later by team)", user("sid", store.RoleCommercial), signing("sid"), ""},
		{"member of another team for a lead", user("sid", store.RoleCommercial), signing("bo"), "lead of program east's bd team (bo)"},
		{"off-team commercial", user("olga", store.RoleCommercial), signing("olga"), "not on program east's teams"},
		{"off-team solution forging a review", user("sam", store.RoleSolution), review("pia"), "not on program east's teams"},
		{"lead for a member of the team", user("bo", store.RoleCommercial), signing("ben"), ""},
		{"lead for another team's member", user("lena", store.RoleCommercial), review("pete"), "lead of program east's presales team (pia)"},
		{"presales lead for a member", user("pia", store.RoleSolution), review("pete"), ""},
		{"pmo off the teams", user("pat", store.RolePMO), signing("ben"), ""},
		{"director", user("dina", store.RoleDirector), review("pete"), ""},
		{"admin", user("root", store.RoleAdmin), signing("bo"), ""},
	} {
		got := store.CheckEventAuthor(&p, c.caller, c.event)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}

	s := newStore(t)
	coverageUsers(t, s)
	createProgram(t, s, testProgram("east"))
	ctx := t.Context()
	if _, err := s.ImportAccounts(ctx, "east", accounts(2)); err != nil {
		t.Fatal(err)
	}
	ben := user("ben", store.RoleCommercial)
	batch := []store.CoverageEvent{
		{ID: "v1", Account: "acc-000", Kind: store.EventBDVisit, By: "ben"},
		{ID: "g1", Account: "acc-000", Kind: store.EventBDSigning, By: "bo"},
	}
	var ae *store.CoverageAuthorError
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
