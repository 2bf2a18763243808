package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/coverage"
)

// AccountImport says what an import did: accounts created, accounts whose
// details changed, and accounts sent again unchanged.
type AccountImport struct {
	Received  int `json:"received"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// importBatch rows of an import go in one statement (each column one array
// parameter), so a statement's size is bounded whatever the import's.
const importBatch = 5000

const (
	sqlLockProgram      = `SELECT id FROM coverage_programs WHERE id = $1 FOR SHARE`
	sqlExistingAccounts = `
SELECT count(*) FROM coverage_accounts WHERE program_id = $1 AND id = ANY($2)`
	// Another account of the program already holding one of these names.
	sqlAccountNameTaken = `
SELECT a.id, lower(a.name) AS name FROM coverage_accounts a
WHERE a.program_id = $1 AND lower(a.name) = ANY($2) AND NOT a.id = ANY($3)`
	// An account sent again with the same details is left alone, so the
	// affected-row count tells created and changed accounts from the rest.
	sqlUpsertAccounts = `
INSERT INTO coverage_accounts (program_id, id, name, industry, region, owner)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (program_id, id) DO UPDATE SET
	name = EXCLUDED.name, industry = EXCLUDED.industry, region = EXCLUDED.region,
	owner = EXCLUDED.owner, updated_at = now()
WHERE (coverage_accounts.name, coverage_accounts.industry, coverage_accounts.region, coverage_accounts.owner)
	IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.industry, EXCLUDED.region, EXCLUDED.owner)`
)

// ImportAccounts adds accounts to a program, or updates those it already
// lists (by id). It is all or nothing: the first bad account (a missing
// name, an id twice, a name another account has, an owner who is not a
// user) returns a *coverage.ImportError and nothing is stored. An unknown
// program returns ErrNotFound.
func (s *Store) ImportAccounts(ctx context.Context, programID string, accounts []coverage.Account) (*AccountImport, error) {
	if err := coverage.CheckAccounts(accounts); err != nil {
		return nil, err
	}
	out := &AccountImport{Received: len(accounts)}
	ids, names := make(pq.StringArray, len(accounts)), make(pq.StringArray, len(accounts))
	for i, a := range accounts {
		ids[i], names[i] = a.ID, strings.ToLower(a.Name)
	}
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProgram(ctx, tx, programID); err != nil {
			return err
		}
		if err := checkOwners(ctx, tx, accounts); err != nil {
			return err
		}
		if err := checkNamesFree(ctx, tx, programID, accounts, names, ids); err != nil {
			return err
		}
		var existing int
		if err := tx.QueryRowxContext(ctx, sqlExistingAccounts, programID, ids).Scan(&existing); err != nil {
			return err
		}
		// In batches, so that one statement's parameters stay small
		// whatever the import's size; the transaction keeps it all or
		// nothing.
		var written int64
		for from := 0; from < len(accounts); from += importBatch {
			batch := accounts[from:min(from+importBatch, len(accounts))]
			cols := make([]pq.StringArray, 5)
			for i := range cols {
				cols[i] = make(pq.StringArray, 0, len(batch))
			}
			for _, a := range batch {
				cols[0], cols[1], cols[2] = append(cols[0], a.ID), append(cols[1], a.Name), append(cols[2], a.Industry)
				cols[3], cols[4] = append(cols[3], a.Region), append(cols[4], a.Owner)
			}
			res, err := tx.ExecContext(ctx, sqlUpsertAccounts, programID, cols[0], cols[1], cols[2], cols[3], cols[4])
			if err != nil {
				return fmt.Errorf("store: importing accounts: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			written += n
		}
		out.Created = len(accounts) - existing
		out.Updated = int(written) - out.Created
		out.Unchanged = existing - out.Updated
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func lockProgram(ctx context.Context, tx *sqlx.Tx, programID string) error {
	var id string
	return mapErr(tx.QueryRowxContext(ctx, sqlLockProgram, programID).Scan(&id), "program "+programID)
}

// checkOwners names the first account whose owner is not an active user.
func checkOwners(ctx context.Context, tx *sqlx.Tx, accounts []coverage.Account) error {
	var owners pq.StringArray
	for _, a := range accounts {
		if a.Owner != "" {
			owners = append(owners, a.Owner)
		}
	}
	if len(owners) == 0 {
		return nil
	}
	var known []string
	if err := sqlx.SelectContext(ctx, tx, &known, sqlKnownUsers, owners); err != nil {
		return err
	}
	set := make(map[string]bool, len(known))
	for _, k := range known {
		set[k] = true
	}
	for i, a := range accounts {
		if a.Owner != "" && !set[a.Owner] {
			return coverage.ImportErrorf(i, "owner", "%q is not an active user; create it first (POST /v1/users) or leave owner empty", a.Owner)
		}
	}
	return nil
}

// checkNamesFree names the first account whose name another account of the
// program (one not in this import) already has.
func checkNamesFree(ctx context.Context, tx *sqlx.Tx, programID string, accounts []coverage.Account, names, ids pq.StringArray) error {
	var taken []struct {
		ID   string `db:"id"`
		Name string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, tx, &taken, sqlAccountNameTaken, programID, names, ids); err != nil {
		return err
	}
	for _, t := range taken {
		for i, a := range accounts {
			if strings.ToLower(a.Name) == t.Name {
				return coverage.ImportErrorf(i, "name", "account %s on this program is already named %q; deals are matched to accounts by name, so names must differ", t.ID, a.Name)
			}
		}
	}
	return nil
}
