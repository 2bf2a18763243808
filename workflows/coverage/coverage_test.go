package coverage_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"dealflow/workflows/coverage"
	"dealflow/workflows/coverage/coveragetest"
	"dealflow/workflows/problem"
)

func rate(v float64) *float64 { return &v }

var testProgram = coveragetest.Program

var problems = coveragetest.Problems

func TestProgramDefaultsAndTeams(t *testing.T) {
	p := testProgram("east")
	p.Teams.SDR.Members = append(p.Teams.SDR.Members, " sid ", "lena")
	if err := p.Normalize(); err != nil {
		t.Fatal(err)
	}
	if p.UntouchedDays != 30 || p.Schedule.TimeZone != "UTC" || p.Schedule.At != "08:00" || fmt.Sprint(p.Schedule.Weekdays) != "[monday]" {
		t.Errorf("defaults: %+v", p)
	}
	if p.Teams.SDR.Lead != "lena" || fmt.Sprint(p.Teams.SDR.Members) != "[lena sid sue]" || p.Teams.Presales.Lead != "pia" {
		t.Errorf("teams: %+v", p.Teams)
	}
	p.Schedule = coverage.Schedule{Weekdays: []string{"Friday", "tuesday", " friday"}, At: "17:30", TimeZone: "Asia/Shanghai"}
	if err := p.Normalize(); err != nil || fmt.Sprint(p.Schedule.Weekdays) != "[tuesday friday]" {
		t.Errorf("weekdays %v, %v", p.Schedule.Weekdays, err)
	}
	if !p.OnTeams("pete") || p.OnTeams("olga") {
		t.Error("OnTeams")
	}
}

func TestProgramValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*coverage.Program)
		want string
	}{
		{"negative rate", func(p *coverage.Program) { p.Targets.CoverageRate = rate(-0.1) }, "targets.coverage_rate: a rate is between 0 and 1"},
		{"rate above 1", func(p *coverage.Program) { p.Targets.SigningRate = rate(1.5) }, "targets.signing_rate"},
		{"missing target", func(p *coverage.Program) { p.Targets.FirstPassRate = nil }, "targets.first_pass_rate: a target"},
		{"bad zone", func(p *coverage.Program) { p.Schedule.TimeZone = "Mars/Olympus" }, "schedule.time_zone"},
		{"local zone", func(p *coverage.Program) { p.Schedule.TimeZone = "Local" }, "schedule.time_zone"},
		{"bad time", func(p *coverage.Program) { p.Schedule.At = "24:00" }, "schedule.at"},
		{"bad day", func(p *coverage.Program) { p.Schedule.Weekdays = []string{"someday"} }, "schedule.weekdays"},
		{"negative window", func(p *coverage.Program) { p.UntouchedDays = -3 }, "untouched_days"},
		{"bad id", func(p *coverage.Program) { p.ID = "East Side" }, "id:"},
		{"id with NUL", func(p *coverage.Program) { p.ID = "east\x00" }, "id: "},
		{"id with ..", func(p *coverage.Program) { p.ID = "a..b" }, `must not contain ".."`},
		{"name with NUL", func(p *coverage.Program) { p.Name = "East\x00" }, "name: contains the control character U+0000"},
		{"name too long", func(p *coverage.Program) { p.Name = strings.Repeat("n", 201) }, "name: is 201 characters long; the limit is 200"},
		{"member with NUL", func(p *coverage.Program) { p.Teams.SDR.Members = []string{"s\x00"} }, "teams.sdr.members: contains the control character"},
		{"lead invalid UTF-8", func(p *coverage.Program) { p.Teams.BD.Lead = "b\xff" }, "teams.bd.lead: is not valid UTF-8"},
		{"too many weekdays", func(p *coverage.Program) { p.Schedule.Weekdays = make([]string, 29) }, "schedule.weekdays: has 29 items; the limit is 28"},
		{"no lead", func(p *coverage.Program) { p.Teams.BD.Lead = "" }, "teams.bd.lead"},
	} {
		p := testProgram("bad")
		c.mod(&p)
		if got := problems(p.Normalize()); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want a *problem.Error mentioning %q", c.name, got, c.want)
		}
	}
	// Every problem at once.
	p := testProgram("bad")
	p.Name, p.UntouchedDays, p.Targets.SigningRate = "", -1, nil
	var pe *problem.Error
	if err := p.Normalize(); !errors.As(err, &pe) || len(pe.Problems) != 3 {
		t.Errorf("three problems: %v", err)
	}
}

func TestUnknownMembers(t *testing.T) {
	p := testProgram("east")
	p.Teams.SDR.Members = []string{"zed"}
	p.Teams.Presales.Lead = "zoe"
	if err := p.Normalize(); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"lena": true, "bo": true, "ben": true, "pete": true}
	got := problems(p.Teams.UnknownMembers(func(id string) bool { return known[id] }))
	for _, want := range []string{`teams.sdr.members: "zed" is not an active user`, `teams.presales.lead: "zoe"`} {
		if !strings.Contains(got, want) {
			t.Errorf("%q, want it to mention %q", got, want)
		}
	}
	if err := p.Teams.UnknownMembers(func(string) bool { return true }); err != nil {
		t.Errorf("all known: %v", err)
	}
}

var accounts = coveragetest.Accounts

func TestCheckAccounts(t *testing.T) {
	ok := accounts(3)
	ok[0].Name = "  Spaced  "
	if err := coverage.CheckAccounts(ok); err != nil || ok[0].Name != "Spaced" {
		t.Errorf("good batch: %v, name %q", err, ok[0].Name)
	}
	for _, c := range []struct {
		name  string
		mod   func([]coverage.Account)
		index int
		field string
	}{
		{"no name", func(a []coverage.Account) { a[2].Name = " " }, 2, "name"},
		{"bad id", func(a []coverage.Account) { a[1].ID = "a/b" }, 1, "id"},
		{"NUL in a name", func(a []coverage.Account) { a[1].Name = "ACME\x00" }, 1, "name"},
		{"industry too long", func(a []coverage.Account) { a[2].Industry = strings.Repeat("i", 201) }, 2, "industry"},
		{"region on two lines", func(a []coverage.Account) { a[0].Region = "north\nsouth" }, 0, "region"},
		{"id twice", func(a []coverage.Account) { a[3].ID = a[0].ID }, 3, "id"},
		{"name twice", func(a []coverage.Account) { a[3].Name = strings.ToUpper(a[1].Name) }, 3, "name"},
	} {
		batch := accounts(5)
		c.mod(batch)
		var ie *coverage.ImportError
		if err := coverage.CheckAccounts(batch); !errors.As(err, &ie) || ie.Index != c.index || ie.Field != c.field {
			t.Errorf("%s: %v, want item %d field %s", c.name, err, c.index, c.field)
		}
	}
}

func TestTeamOf(t *testing.T) {
	want := map[coverage.EventKind]coverage.Team{
		coverage.EventSDRTouch: coverage.TeamSDR, coverage.EventBDVisit: coverage.TeamBD, coverage.EventBDSigning: coverage.TeamBD,
		coverage.EventSolutionSubmitted: coverage.TeamPresales, coverage.EventSolutionReviewed: coverage.TeamPresales,
	}
	for _, k := range coverage.EventKinds {
		if got := coverage.TeamOf(k); got != want[k] {
			t.Errorf("TeamOf(%s) = %s, want %s", k, got, want[k])
		}
	}
}

func TestCheckEvents(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	good := func() []coverage.Event {
		return []coverage.Event{
			{ID: "n1", Account: "acc-000", Kind: coverage.EventSDRTouch, Stage: coverage.StageNeedsProbed, By: "sue"},
			{ID: "n2", Account: "acc-001", Kind: coverage.EventBDVisit, By: " ben "},
		}
	}
	batch := good()
	if err := coverage.CheckEvents(batch, now); err != nil || !batch[0].At.Equal(now) || batch[0].At.Location() != time.UTC || batch[1].By != "ben" {
		t.Errorf("good batch: %v, %+v", err, batch)
	}
	p := testProgram("east")
	if err := p.Normalize(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		mod   func([]coverage.Event)
		index int
		field string
	}{
		{"not on the team", func(e []coverage.Event) { e[0].By = "ben" }, 0, "by"},
		{"not on any team", func(e []coverage.Event) { e[1].By = "olga" }, 1, "by"},
		{"bad stage", func(e []coverage.Event) { e[0].Stage = "waved" }, 0, "stage"},
		{"stage on a visit", func(e []coverage.Event) { e[1].Stage = coverage.StageNeedsProbed }, 1, "stage"},
		{"bad kind", func(e []coverage.Event) { e[1].Kind = "lunch" }, 1, "kind"},
		{"bad id", func(e []coverage.Event) { e[1].ID = "deal/x/1" }, 1, "id"},
		{"no account", func(e []coverage.Event) { e[1].Account = " " }, 1, "account"},
		{"no by", func(e []coverage.Event) { e[1].By = "" }, 1, "by"},
		{"id twice", func(e []coverage.Event) { e[1].ID = "n1" }, 1, "id"},
		{"NUL in a note", func(e []coverage.Event) { e[1].Note = "met\x00" }, 1, "note"},
		{"note too long", func(e []coverage.Event) { e[0].Note = strings.Repeat("字", 2001) }, 0, "note"},
		{"invalid UTF-8 by", func(e []coverage.Event) { e[0].By = "s\xff" }, 0, "by"},
		{"solution on a visit", func(e []coverage.Event) { e[1].Solution = "erp" }, 1, "solution"},
		{"result on a visit", func(e []coverage.Event) { e[1].Result = coverage.ReviewApproved }, 1, "result"},
		{"no solution", func(e []coverage.Event) {
			e[1] = coverage.Event{ID: "n2", Account: "acc-002", Kind: coverage.EventSolutionSubmitted, Round: 1, By: "pete"}
		}, 1, "solution"},
		{"no round", func(e []coverage.Event) {
			e[1] = coverage.Event{ID: "n2", Account: "acc-002", Kind: coverage.EventSolutionSubmitted, Solution: "erp", By: "pete"}
		}, 1, "round"},
		{"bad result", func(e []coverage.Event) {
			e[1] = coverage.Event{ID: "n2", Account: "acc-002", Kind: coverage.EventSolutionReviewed, Solution: "erp", Round: 1, Result: "maybe", By: "pete"}
		}, 1, "result"},
	} {
		batch := good()
		c.mod(batch)
		err := coverage.CheckEvents(batch, now)
		if err == nil {
			err = coverage.CheckEventTeams(&p, batch)
		}
		var ie *coverage.ImportError
		if !errors.As(err, &ie) || ie.Index != c.index || ie.Field != c.field {
			t.Errorf("%s: %v, want item %d field %s", c.name, err, c.index, c.field)
		}
	}
}

// TestCheckEventAuthor: the one rule on who posts events in whose name.
func TestCheckEventAuthor(t *testing.T) {
	p := testProgram("east")
	if err := p.Normalize(); err != nil {
		t.Fatal(err)
	}
	p.Teams.SDR.Members = append(p.Teams.SDR.Members, "lena")
	p.Teams.BD.Members = append(p.Teams.BD.Members, "bo")
	p.Teams.Presales.Members = append(p.Teams.Presales.Members, "pia")
	signing := func(by string) coverage.Event {
		return coverage.Event{ID: "e1", Kind: coverage.EventBDSigning, By: by}
	}
	review := func(by string) coverage.Event {
		return coverage.Event{ID: "e2", Kind: coverage.EventSolutionReviewed, By: by}
	}
	for _, c := range []struct {
		name    string
		caller  string
		manages bool
		event   coverage.Event
		want    string // "" allowed, else part of the refusal
	}{
		{"member in own name", "ben", false, signing("ben"), ""},
		{"member in own name, spaced", "ben", false, signing(" ben "), ""},
		{"member in another's name", "ben", false, signing("bo"), `in "bo"'s name, not yours (ben)`},
		{"member of another team in own name (refused later by team)", "sid", false, signing("sid"), ""},
		{"member of another team for a lead", "sid", false, signing("bo"), "lead of program east's bd team (bo)"},
		{"off-team commercial", "olga", false, signing("olga"), "not on program east's teams"},
		{"off-team solution forging a review", "sam", false, review("pia"), "not on program east's teams"},
		{"lead for a member of the team", "bo", false, signing("ben"), ""},
		{"lead for another team's member", "lena", false, review("pete"), "lead of program east's presales team (pia)"},
		{"presales lead for a member", "pia", false, review("pete"), ""},
		{"manager off the teams", "pat", true, signing("ben"), ""},
		{"manager for a lead", "root", true, signing("bo"), ""},
	} {
		got := coverage.CheckEventAuthor(&p, c.caller, c.manages, c.event)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	var ae *coverage.AuthorError
	err := coverage.CheckEventAuthors(&p, "ben", false, []coverage.Event{signing("ben"), signing("bo")})
	if !errors.As(err, &ae) || ae.EventID != "e1" || !strings.Contains(ae.Message, `"bo"`) {
		t.Errorf("batch: %v", err)
	}
	if err := coverage.CheckEventAuthors(&p, "bo", false, []coverage.Event{signing("ben"), signing("bo")}); err != nil {
		t.Errorf("lead's batch: %v", err)
	}
}
