// Package coveragetest holds the coverage fixtures that the model's tests,
// the store's tests and the report benchmarks' data share: one program with
// its three teams, numbered accounts, and a look at validation problems.
package coveragetest

import (
	"errors"
	"fmt"

	"dealflow/workflows/coverage"
	"dealflow/workflows/problem"
)

// Users are the people of Program's teams, and olga, who is on none.
var Users = []string{"lena", "sid", "sue", "bo", "ben", "pia", "pete", "olga"}

// Program is a program with targets and teams and nothing else set (the
// defaults are left to Normalize): an SDR team (lena leads sid and sue), a
// BD team (bo leads ben) and presales (pia leads pete).
func Program(id string) coverage.Program {
	rate := func(v float64) *float64 { return &v }
	return coverage.Program{
		ID: id, Name: "Program " + id,
		Targets: coverage.Targets{CoverageRate: rate(0.8), SigningRate: rate(0.1), FirstPassRate: rate(0.6)},
		Teams: coverage.ProgramTeams{
			SDR:      coverage.ProgramTeam{Lead: "lena", Members: []string{"sid", "sue"}},
			BD:       coverage.ProgramTeam{Lead: "bo", Members: []string{"ben"}},
			Presales: coverage.ProgramTeam{Lead: "pia", Members: []string{"pete"}},
		},
	}
}

// Accounts are n accounts acc-000, acc-001, … named Customer 000, … in one
// industry and region.
func Accounts(n int) []coverage.Account {
	out := make([]coverage.Account, n)
	for i := range out {
		out[i] = coverage.Account{ID: fmt.Sprintf("acc-%03d", i), Name: fmt.Sprintf("Customer %03d", i), Industry: "manufacturing", Region: "east"}
	}
	return out
}

// Problems is err's text when it is a *problem.Error (what program
// validation returns), else "".
func Problems(err error) string {
	var pe *problem.Error
	if !errors.As(err, &pe) {
		return ""
	}
	return pe.Error()
}
