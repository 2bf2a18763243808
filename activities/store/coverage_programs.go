package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/coverage"
)

type programRow struct {
	ID              string         `db:"id"`
	Name            string         `db:"name"`
	TimeZone        string         `db:"time_zone"`
	Weekdays        pq.StringArray `db:"weekdays"`
	RunAt           string         `db:"run_at"`
	UntouchedDays   int            `db:"untouched_days"`
	TargetCoverage  float64        `db:"target_coverage"`
	TargetSigning   float64        `db:"target_signing"`
	TargetFirstPass float64        `db:"target_first_pass"`
	Paused          bool           `db:"paused"`
	CreatedBy       string         `db:"created_by"`
	CreatedAt       time.Time      `db:"created_at"`
	UpdatedAt       time.Time      `db:"updated_at"`
	Accounts        int            `db:"accounts"`
}

func (r programRow) program() coverage.Program {
	return coverage.Program{
		ID: r.ID, Name: r.Name, UntouchedDays: r.UntouchedDays, Paused: r.Paused, Accounts: r.Accounts,
		Schedule: coverage.Schedule{Weekdays: r.Weekdays, At: r.RunAt, TimeZone: r.TimeZone},
		Targets:  coverage.Targets{CoverageRate: &r.TargetCoverage, SigningRate: &r.TargetSigning, FirstPassRate: &r.TargetFirstPass},
		Teams: coverage.ProgramTeams{SDR: coverage.ProgramTeam{Members: []string{}}, BD: coverage.ProgramTeam{Members: []string{}},
			Presales: coverage.ProgramTeam{Members: []string{}}},
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

const (
	sqlProgramColumns = `p.id, p.name, p.time_zone, p.weekdays, p.run_at, p.untouched_days,
	p.target_coverage, p.target_signing, p.target_first_pass, p.paused, p.created_by, p.created_at, p.updated_at,
	(SELECT count(*) FROM coverage_accounts a WHERE a.program_id = p.id) AS accounts`
	sqlGetProgram    = `SELECT ` + sqlProgramColumns + ` FROM coverage_programs p WHERE p.id = $1`
	sqlListPrograms  = `SELECT ` + sqlProgramColumns + ` FROM coverage_programs p ORDER BY p.id`
	sqlInsertProgram = `
INSERT INTO coverage_programs (id, name, time_zone, weekdays, run_at, untouched_days,
	target_coverage, target_signing, target_first_pass, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	// Replacing a program keeps whether it is paused: pause and resume
	// have their own routes.
	sqlUpdateProgram = `
UPDATE coverage_programs SET name = $2, time_zone = $3, weekdays = $4, run_at = $5,
	untouched_days = $6, target_coverage = $7, target_signing = $8, target_first_pass = $9, updated_at = now()
WHERE id = $1`
	sqlPauseProgram   = `UPDATE coverage_programs SET paused = $2, updated_at = now() WHERE id = $1`
	sqlDeleteProgram  = `DELETE FROM coverage_programs WHERE id = $1`
	sqlDeleteTeams    = `DELETE FROM coverage_team_members WHERE program_id = $1`
	sqlInsertTeamHead = `INSERT INTO coverage_team_members (program_id, team, user_id, lead)`
	sqlTeamMembers    = `
SELECT program_id, team, user_id, lead FROM coverage_team_members
WHERE program_id = ANY($1) ORDER BY program_id, team, lead DESC, user_id`
)

// CreateProgram checks and stores a new program and its teams, then calls
// then (which creates the program's schedule) inside the same transaction:
// if then fails, nothing is stored. A taken id returns ErrDuplicate; bad
// values and unknown users a *problem.Error naming each field.
func (s *Store) CreateProgram(ctx context.Context, p coverage.Program, by string, then func(*coverage.Program) error) (*coverage.Program, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	return s.writeProgram(ctx, p.ID, then, func(tx *sqlx.Tx) error {
		if err := checkTeamUsers(ctx, tx, &p.Teams); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqlInsertProgram, p.ID, p.Name, p.Schedule.TimeZone, pq.StringArray(p.Schedule.Weekdays),
			p.Schedule.At, p.UntouchedDays, *p.Targets.CoverageRate, *p.Targets.SigningRate, *p.Targets.FirstPassRate, by); err != nil {
			return mapErr(err, "program "+p.ID)
		}
		return insertTeams(ctx, tx, p.ID, &p.Teams)
	})
}

// UpdateProgram replaces a program's settings and teams (not its accounts,
// events or paused state), then calls then inside the transaction, as
// CreateProgram does. An unknown program returns ErrNotFound.
func (s *Store) UpdateProgram(ctx context.Context, p coverage.Program, then func(*coverage.Program) error) (*coverage.Program, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	return s.writeProgram(ctx, p.ID, then, func(tx *sqlx.Tx) error {
		if err := checkTeamUsers(ctx, tx, &p.Teams); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, sqlUpdateProgram, p.ID, p.Name, p.Schedule.TimeZone, pq.StringArray(p.Schedule.Weekdays),
			p.Schedule.At, p.UntouchedDays, *p.Targets.CoverageRate, *p.Targets.SigningRate, *p.Targets.FirstPassRate)
		if err := affectedOne(res, err, p.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqlDeleteTeams, p.ID); err != nil {
			return err
		}
		return insertTeams(ctx, tx, p.ID, &p.Teams)
	})
}

// SetProgramPaused pauses or resumes a program's report, then calls then
// inside the transaction.
func (s *Store) SetProgramPaused(ctx context.Context, id string, paused bool, then func(*coverage.Program) error) (*coverage.Program, error) {
	return s.writeProgram(ctx, id, then, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, sqlPauseProgram, id, paused)
		return affectedOne(res, err, id)
	})
}

// DeleteProgram removes a program with its accounts, events and reports,
// then calls then (which deletes the schedule) inside the transaction.
func (s *Store) DeleteProgram(ctx context.Context, id string, then func() error) error {
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, sqlDeleteProgram, id)
		if err := affectedOne(res, err, id); err != nil {
			return err
		}
		return then()
	})
}

// writeProgram runs write, reads the program back and hands it to then, all
// in one transaction.
func (s *Store) writeProgram(ctx context.Context, id string, then func(*coverage.Program) error, write func(*sqlx.Tx) error) (*coverage.Program, error) {
	var out *coverage.Program
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		p, err := getProgram(ctx, tx, id)
		if err != nil {
			return err
		}
		out = p
		return then(p)
	})
	return out, err
}

func affectedOne(res interface{ RowsAffected() (int64, error) }, err error, id string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("program %s: %w", id, ErrNotFound)
	}
	return nil
}

// checkTeamUsers names every team member who is not an active user, as a
// *problem.Error.
func checkTeamUsers(ctx context.Context, q sqlx.QueryerContext, ts *coverage.ProgramTeams) error {
	var known []string
	if err := sqlx.SelectContext(ctx, q, &known, sqlKnownUsers, pq.StringArray(ts.MemberIDs())); err != nil {
		return fmt.Errorf("store: checking team members: %w", err)
	}
	return ts.UnknownMembers(func(id string) bool { return slices.Contains(known, id) })
}

func insertTeams(ctx context.Context, q sqlx.ExtContext, programID string, ts *coverage.ProgramTeams) error {
	var rows [][]any
	for _, team := range coverage.Teams {
		t := ts.Get(team)
		for _, u := range t.Members {
			rows = append(rows, []any{programID, string(team), u, u == t.Lead})
		}
	}
	return bulkInsert(ctx, q, sqlInsertTeamHead, "", rows)
}

// GetProgram returns a program with its teams, or ErrNotFound.
func (s *Store) GetProgram(ctx context.Context, id string) (*coverage.Program, error) {
	return getProgram(ctx, s.db, id)
}

func getProgram(ctx context.Context, q sqlx.QueryerContext, id string) (*coverage.Program, error) {
	var row programRow
	if err := sqlx.GetContext(ctx, q, &row, sqlGetProgram, id); err != nil {
		return nil, mapErr(err, "program "+id)
	}
	ps := []coverage.Program{row.program()}
	if err := loadTeams(ctx, q, ps); err != nil {
		return nil, err
	}
	return &ps[0], nil
}

// ListPrograms returns every program with its teams, by id.
func (s *Store) ListPrograms(ctx context.Context) ([]coverage.Program, error) {
	var rows []programRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlListPrograms); err != nil {
		return nil, fmt.Errorf("store: listing programs: %w", err)
	}
	out := make([]coverage.Program, len(rows))
	for i, r := range rows {
		out[i] = r.program()
	}
	return out, loadTeams(ctx, s.db, out)
}

// loadTeams fills the teams of ps with one query.
func loadTeams(ctx context.Context, q sqlx.QueryerContext, ps []coverage.Program) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make(pq.StringArray, len(ps))
	byID := make(map[string]*coverage.Program, len(ps))
	for i := range ps {
		ids[i] = ps[i].ID
		byID[ps[i].ID] = &ps[i]
	}
	var members []struct {
		ProgramID string `db:"program_id"`
		Team      string `db:"team"`
		UserID    string `db:"user_id"`
		Lead      bool   `db:"lead"`
	}
	if err := sqlx.SelectContext(ctx, q, &members, sqlTeamMembers, ids); err != nil {
		return fmt.Errorf("store: reading program teams: %w", err)
	}
	for _, m := range members {
		t := byID[m.ProgramID].Teams.Get(coverage.Team(m.Team))
		if t == nil {
			continue
		}
		if m.Lead {
			t.Lead = m.UserID
		}
		t.Members = append(t.Members, m.UserID)
	}
	return nil
}
