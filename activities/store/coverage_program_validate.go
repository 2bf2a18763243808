package store

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"dealflow/workflows/deal"
	"dealflow/workflows/problem"
)

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

var (
	runAtPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// normalize fills a program's defaults and checks it on its own (the users
// it names are checked against the database separately). Every problem is
// listed, each naming its field, as a *deal.ValidationError.
func (p *Program) normalize() error {
	var ps []deal.Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, deal.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	p.Name = strings.TrimSpace(p.Name)
	if msg := problem.KeyError(p.ID); msg != "" {
		add("id", "%s", msg)
	}
	if p.Name == "" {
		add("name", "a program needs a name")
	} else if msg := problem.LineError(p.Name, problem.MaxName); msg != "" {
		add("name", "%s", msg)
	}
	switch {
	case p.UntouchedDays == 0:
		p.UntouchedDays = DefaultUntouchedDays
	case p.UntouchedDays < 0 || p.UntouchedDays > MaxUntouchedDays:
		add("untouched_days", "must be between 1 and %d days, not %d", MaxUntouchedDays, p.UntouchedDays)
	}
	p.Schedule.normalize(add)
	p.Targets.check(add)
	p.Teams.normalize(add)
	if len(ps) > 0 {
		return &deal.ValidationError{Problems: ps}
	}
	return nil
}

func (s *ProgramSchedule) normalize(add func(field, format string, args ...any)) {
	if s.TimeZone == "" {
		s.TimeZone = DefaultTimeZone
	}
	// "Local" would mean the server's zone, which differs between machines.
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "Local" {
		add("schedule.time_zone", "%q is not an IANA time zone such as Asia/Shanghai or Europe/Berlin", problem.Clip(s.TimeZone))
	}
	if s.At == "" {
		s.At = DefaultRunAt
	}
	if !runAtPattern.MatchString(s.At) {
		add("schedule.at", "%q is not a time of day as HH:MM (00:00 to 23:59)", problem.Clip(s.At))
	}
	if len(s.Weekdays) == 0 {
		s.Weekdays = slices.Clone(DefaultWeekdays)
	}
	if len(s.Weekdays) > maxProgramWeekdays {
		add("schedule.weekdays", "has %d items; the limit is %d", len(s.Weekdays), maxProgramWeekdays)
		s.Weekdays = s.Weekdays[:maxProgramWeekdays]
	}
	days := make([]string, 0, len(s.Weekdays))
	for _, d := range s.Weekdays {
		d = strings.ToLower(strings.TrimSpace(d))
		if !slices.Contains(Weekdays, d) {
			add("schedule.weekdays", "%q is not a weekday: use %s", problem.Clip(d), strings.Join(Weekdays, ", "))
			continue
		}
		if !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, func(a, b string) int { return slices.Index(Weekdays, a) - slices.Index(Weekdays, b) })
	s.Weekdays = days
}

func (t Targets) check(add func(field, format string, args ...any)) {
	for _, r := range []struct {
		field string
		v     *float64
	}{{"targets.coverage_rate", t.CoverageRate}, {"targets.signing_rate", t.SigningRate}, {"targets.first_pass_rate", t.FirstPassRate}} {
		switch {
		case r.v == nil:
			add(r.field, "a target between 0 and 1 is required (0.8 means 80%%)")
		case math.IsNaN(*r.v) || *r.v < 0 || *r.v > 1:
			add(r.field, "a rate is between 0 and 1 (0.8 means 80%%), not %v", *r.v)
		}
	}
}

// normalize trims the teams' user ids, drops duplicates and puts each lead
// among their team's members.
func (ts *ProgramTeams) normalize(add func(field, format string, args ...any)) {
	for _, team := range CoverageTeams {
		t := ts.Get(team)
		field := "teams." + string(team)
		t.Lead = strings.TrimSpace(t.Lead)
		if t.Lead == "" {
			add(field+".lead", "each team needs a lead, who is told the team's figure after each report")
		} else if msg := problem.LineError(t.Lead, problem.MaxKey); msg != "" {
			add(field+".lead", "%s", msg)
		}
		if len(t.Members) > maxProgramTeamMembers {
			add(field+".members", "has %d items; the limit is %d", len(t.Members), maxProgramTeamMembers)
			t.Members = t.Members[:maxProgramTeamMembers]
		}
		members := []string{}
		if t.Lead != "" {
			members = append(members, t.Lead)
		}
		for _, m := range t.Members {
			m = strings.TrimSpace(m)
			if m == "" {
				add(field+".members", "a member id cannot be empty")
				continue
			}
			if msg := problem.LineError(m, problem.MaxKey); msg != "" {
				add(field+".members", "%s", msg)
				continue
			}
			if !slices.Contains(members, m) {
				members = append(members, m)
			}
		}
		t.Members = members
	}
}
