package coverage

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"dealflow/workflows/problem"
)

// Team is one of the three teams that work a program's accounts.
type Team string

// The teams of the behaviour paradigm, each with its indicator: SDR the
// coverage rate, BD the signing rate, presales the solution first-pass rate.
const (
	TeamSDR      Team = "sdr"
	TeamBD       Team = "bd"
	TeamPresales Team = "presales"
)

// Teams lists the teams in the order reports show them.
var Teams = []Team{TeamSDR, TeamBD, TeamPresales}

// ProgramTeam is one team on a program. The lead is also a member.
type ProgramTeam struct {
	Lead    string   `json:"lead"`
	Members []string `json:"members"`
}

// ProgramTeams are a program's three teams.
type ProgramTeams struct {
	SDR      ProgramTeam `json:"sdr"`
	BD       ProgramTeam `json:"bd"`
	Presales ProgramTeam `json:"presales"`
}

// Get returns the named team (nil for an unknown name).
func (ts *ProgramTeams) Get(team Team) *ProgramTeam {
	switch team {
	case TeamSDR:
		return &ts.SDR
	case TeamBD:
		return &ts.BD
	case TeamPresales:
		return &ts.Presales
	}
	return nil
}

// Targets are what each team's indicator should reach, as rates in [0, 1].
// They are pointers so that a missing target is told apart from 0.
type Targets struct {
	CoverageRate  *float64 `json:"coverage_rate"`
	SigningRate   *float64 `json:"signing_rate"`
	FirstPassRate *float64 `json:"first_pass_rate"`
}

// Schedule says when the program's report runs: on each of Weekdays at At
// (HH:MM) in TimeZone (IANA).
type Schedule struct {
	Weekdays []string `json:"weekdays"`
	At       string   `json:"at"`
	TimeZone string   `json:"time_zone"`
}

// Program is a named-account coverage program: its settings, its teams and
// how many accounts it lists.
type Program struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Schedule      Schedule     `json:"schedule"`
	UntouchedDays int          `json:"untouched_days"`
	Targets       Targets      `json:"targets"`
	Teams         ProgramTeams `json:"teams"`
	Paused        bool         `json:"paused"`
	Accounts      int          `json:"accounts"`
	CreatedBy     string       `json:"created_by"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
}

// OnTeams reports whether user id is on any of the program's teams.
func (p *Program) OnTeams(id string) bool {
	for _, team := range Teams {
		if slices.Contains(p.Teams.Get(team).Members, id) {
			return true
		}
	}
	return false
}

// Program defaults: a weekly report, Monday 08:00 UTC, listing accounts
// untouched for 30 days.
const (
	DefaultUntouchedDays = 30
	MaxUntouchedDays     = 3650
	DefaultRunAt         = "08:00"
	DefaultTimeZone      = "UTC"
)

// Bounds of a program's lists: each weekday in a few spellings at most, and
// a team of a size one lead can follow.
const (
	maxProgramWeekdays    = 7 * 4
	maxProgramTeamMembers = 500
)

// DefaultWeekdays is when a program's report runs unless it says otherwise.
var DefaultWeekdays = []string{"monday"}

// Weekdays are the accepted day names, Sunday first as time.Weekday counts.
var Weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

var runAtPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// Normalize fills a program's defaults and checks it on its own (whether
// the users it names exist is the store's to check). Every problem is
// listed, each naming its field, as a *problem.Error.
func (p *Program) Normalize() error {
	var ps problem.List
	p.Name = strings.TrimSpace(p.Name)
	if msg := problem.KeyError(p.ID); msg != "" {
		ps.Add("id", "%s", msg)
	}
	if p.Name == "" {
		ps.Add("name", "a program needs a name")
	} else if msg := problem.LineError(p.Name, problem.MaxName); msg != "" {
		ps.Add("name", "%s", msg)
	}
	switch {
	case p.UntouchedDays == 0:
		p.UntouchedDays = DefaultUntouchedDays
	case p.UntouchedDays < 0 || p.UntouchedDays > MaxUntouchedDays:
		ps.Add("untouched_days", "must be between 1 and %d days, not %d", MaxUntouchedDays, p.UntouchedDays)
	}
	p.Schedule.normalize(&ps)
	p.Targets.check(&ps)
	p.Teams.normalize(&ps)
	return ps.Err()
}

func (s *Schedule) normalize(ps *problem.List) {
	if s.TimeZone == "" {
		s.TimeZone = DefaultTimeZone
	}
	// "Local" would mean the server's zone, which differs between machines.
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "Local" {
		ps.Add("schedule.time_zone", "%q is not an IANA time zone such as Asia/Shanghai or Europe/Berlin", problem.Clip(s.TimeZone))
	}
	if s.At == "" {
		s.At = DefaultRunAt
	}
	if !runAtPattern.MatchString(s.At) {
		ps.Add("schedule.at", "%q is not a time of day as HH:MM (00:00 to 23:59)", problem.Clip(s.At))
	}
	if len(s.Weekdays) == 0 {
		s.Weekdays = slices.Clone(DefaultWeekdays)
	}
	if len(s.Weekdays) > maxProgramWeekdays {
		ps.Add("schedule.weekdays", "has %d items; the limit is %d", len(s.Weekdays), maxProgramWeekdays)
		s.Weekdays = s.Weekdays[:maxProgramWeekdays]
	}
	days := make([]string, 0, len(s.Weekdays))
	for _, d := range s.Weekdays {
		d = strings.ToLower(strings.TrimSpace(d))
		if !slices.Contains(Weekdays, d) {
			ps.Add("schedule.weekdays", "%q is not a weekday: use %s", problem.Clip(d), strings.Join(Weekdays, ", "))
			continue
		}
		if !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, func(a, b string) int { return slices.Index(Weekdays, a) - slices.Index(Weekdays, b) })
	s.Weekdays = days
}

func (t Targets) check(ps *problem.List) {
	for _, r := range []struct {
		field string
		v     *float64
	}{{"targets.coverage_rate", t.CoverageRate}, {"targets.signing_rate", t.SigningRate}, {"targets.first_pass_rate", t.FirstPassRate}} {
		switch {
		case r.v == nil:
			ps.Add(r.field, "a target between 0 and 1 is required (0.8 means 80%%)")
		case math.IsNaN(*r.v) || *r.v < 0 || *r.v > 1:
			ps.Add(r.field, "a rate is between 0 and 1 (0.8 means 80%%), not %v", *r.v)
		}
	}
}

// normalize trims the teams' user ids, drops duplicates and puts each lead
// among their team's members.
func (ts *ProgramTeams) normalize(ps *problem.List) {
	for _, team := range Teams {
		t := ts.Get(team)
		field := "teams." + string(team)
		t.Lead = strings.TrimSpace(t.Lead)
		if t.Lead == "" {
			ps.Add(field+".lead", "each team needs a lead, who is told the team's figure after each report")
		} else if msg := problem.LineError(t.Lead, problem.MaxKey); msg != "" {
			ps.Add(field+".lead", "%s", msg)
		}
		if len(t.Members) > maxProgramTeamMembers {
			ps.Add(field+".members", "has %d items; the limit is %d", len(t.Members), maxProgramTeamMembers)
			t.Members = t.Members[:maxProgramTeamMembers]
		}
		members := []string{}
		if t.Lead != "" {
			members = append(members, t.Lead)
		}
		for _, m := range t.Members {
			m = strings.TrimSpace(m)
			if m == "" {
				ps.Add(field+".members", "a member id cannot be empty")
				continue
			}
			if msg := problem.LineError(m, problem.MaxKey); msg != "" {
				ps.Add(field+".members", "%s", msg)
				continue
			}
			if !slices.Contains(members, m) {
				members = append(members, m)
			}
		}
		t.Members = members
	}
}

// UnknownMembers lists, as a *problem.Error, every team member (or lead)
// that known does not report as an active user; nil when all are known.
func (ts *ProgramTeams) UnknownMembers(known func(id string) bool) error {
	var ps problem.List
	for _, team := range Teams {
		t := ts.Get(team)
		for _, u := range t.Members {
			if known(u) {
				continue
			}
			field := "teams." + string(team) + ".members"
			if u == t.Lead {
				field = "teams." + string(team) + ".lead"
			}
			ps.Add(field, "%q is not an active user; create it first (POST /v1/users)", u)
		}
	}
	return ps.Err()
}

// MemberIDs lists the members of every team, team by team.
func (ts *ProgramTeams) MemberIDs() []string {
	var ids []string
	for _, team := range Teams {
		ids = append(ids, ts.Get(team).Members...)
	}
	return ids
}
