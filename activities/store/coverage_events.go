package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/coverage"
)

// EventIngest says what an ingestion did: events recorded now, and events
// already recorded under the same id (sent again, and left as they were).
type EventIngest struct {
	Received   int `json:"received"`
	Recorded   int `json:"recorded"`
	Duplicates int `json:"duplicates"`
}

const (
	sqlProgramAccountsIn    = `SELECT id FROM coverage_accounts WHERE program_id = $1 AND id = ANY($2)`
	sqlInsertCoverageEvents = `
INSERT INTO coverage_events (program_id, id, account_id, kind, actor, at, stage, solution, round, result, note)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
	$7::text[], $8::text[], $9::int[], $10::text[], $11::text[])
ON CONFLICT (program_id, id) DO NOTHING`
)

// RecordCoverageEvents stores a batch of a program's events posted by
// caller, all or nothing. The first bad event (unknown kind or stage,
// missing field, an id twice, an account not on the program, a user not on
// the team that records its kind) returns a *coverage.ImportError; the
// first event caller may not post (see coverage.CheckEventAuthor) a
// *coverage.AuthorError;
// either way nothing is stored. Events whose id is already recorded are
// counted as duplicates and left unchanged. An unknown program returns
// ErrNotFound.
func (s *Store) RecordCoverageEvents(ctx context.Context, programID string, caller *User, events []coverage.Event) (*EventIngest, error) {
	if caller == nil {
		return nil, errors.New("store: recording coverage events: no caller: every event has an author")
	}
	now := time.Now().UTC()
	if err := coverage.CheckEvents(events, now); err != nil {
		return nil, err
	}
	out := &EventIngest{Received: len(events)}
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProgram(ctx, tx, programID); err != nil {
			return err
		}
		p, err := getProgram(ctx, tx, programID)
		if err != nil {
			return err
		}
		if err := coverage.CheckEventAuthors(p, caller.ID, ManagesPrograms(caller), events); err != nil {
			return err
		}
		if err := checkEventAccounts(ctx, tx, programID, events); err != nil {
			return err
		}
		if err := coverage.CheckEventTeams(p, events); err != nil {
			return err
		}
		for from := 0; from < len(events); from += importBatch {
			batch := events[from:min(from+importBatch, len(events))]
			n := len(batch)
			ids, accounts, kinds, actors := make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n)
			stages, solutions, results, notes := make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n), make(pq.StringArray, 0, n)
			ats, rounds := make([]time.Time, 0, n), make(pq.Int64Array, 0, n)
			for _, e := range batch {
				ids, accounts, kinds, actors = append(ids, e.ID), append(accounts, e.Account), append(kinds, string(e.Kind)), append(actors, e.By)
				ats, stages, solutions = append(ats, e.At), append(stages, e.Stage), append(solutions, e.Solution)
				rounds, results, notes = append(rounds, int64(e.Round)), append(results, e.Result), append(notes, e.Note)
			}
			res, err := tx.ExecContext(ctx, sqlInsertCoverageEvents, programID, ids, accounts, kinds, actors,
				pq.Array(ats), stages, solutions, rounds, results, notes)
			if err != nil {
				return fmt.Errorf("store: recording coverage events: %w", err)
			}
			recorded, err := res.RowsAffected()
			if err != nil {
				return err
			}
			out.Recorded += int(recorded)
		}
		out.Duplicates = len(events) - out.Recorded
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkEventAccounts names the first event whose account is not on the
// program.
func checkEventAccounts(ctx context.Context, tx *sqlx.Tx, programID string, events []coverage.Event) error {
	var wanted pq.StringArray
	for _, e := range events {
		wanted = append(wanted, e.Account)
	}
	var found []string
	if err := sqlx.SelectContext(ctx, tx, &found, sqlProgramAccountsIn, programID, wanted); err != nil {
		return err
	}
	on := make(map[string]bool, len(found))
	for _, id := range found {
		on[id] = true
	}
	for i, e := range events {
		if !on[e.Account] {
			return coverage.ImportErrorf(i, "account", "account %q is not on program %s; import it first", e.Account, programID)
		}
	}
	return nil
}

// ManagesPrograms reports whether u runs coverage programs: admins, PMOs
// and directors create, replace and delete any program (and so could name
// its teams), so they may post any team's events in any member's name (see
// coverage.CheckEventAuthor).
func ManagesPrograms(u *User) bool {
	return u.HasRole(RoleAdmin) || u.HasRole(RolePMO) || u.HasRole(RoleDirector)
}
