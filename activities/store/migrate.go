package store

import (
	"context"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the advisory lock that serialises migrations: any two
// processes migrating the same database at once take turns. The number is
// arbitrary but fixed ("dealflow" in ASCII, truncated to 63 bits).
const migrationLockKey int64 = 0x6465616c666c6f77

// Migration is one embedded schema change and whether it is applied.
type Migration struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
	// AppliedAt is zero while the migration is pending.
	AppliedAt time.Time `json:"applied_at,omitzero"`
	sql       string
}

// Applied reports whether the migration has been applied.
func (m Migration) Applied() bool { return !m.AppliedAt.IsZero() }

var migrationName = regexp.MustCompile(`^(\d+)_([a-z0-9_]+)\.sql$`)

// migrations returns the embedded migrations ordered by their numeric
// prefix. A file that does not follow NNNN_name.sql, or two files with the
// same number, is a programming error reported here.
func migrations() ([]Migration, error) {
	return loadMigrations(migrationFiles, "migrations")
}

func loadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("store: migration file %s must be named NNNN_name.sql", e.Name())
		}
		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration file %s: version must be a positive number", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: m[2], sql: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return int(a.Version - b.Version) })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("store: two migrations have version %d (%s, %s)", out[i].Version, out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

const (
	sqlCreateMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    bigint PRIMARY KEY,
	name       text NOT NULL DEFAULT '',
	applied_at timestamptz NOT NULL DEFAULT now()
)`
	sqlAdvisoryLock      = `SELECT pg_advisory_lock($1)`
	sqlAdvisoryUnlock    = `SELECT pg_advisory_unlock($1)`
	sqlAppliedMigrations = `SELECT version, applied_at FROM schema_migrations`
	sqlMigrationApplied  = `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`
	sqlRecordMigration   = `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`
	sqlMigrationsTableOK = `SELECT to_regclass('schema_migrations') IS NOT NULL`
)

// Migrate applies every pending migration in version order, each in its own
// transaction. A session advisory lock makes concurrent callers (several
// replicas starting at once) wait for each other; the second finds nothing
// left to do. Migrating an up-to-date database changes nothing.
func (s *Store) Migrate(ctx context.Context) (err error) {
	all, err := migrations()
	if err != nil {
		return err
	}
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, sqlAdvisoryLock, migrationLockKey); err != nil {
		return fmt.Errorf("store: migrate: waiting for the migration lock: %w", err)
	}
	defer func() {
		// The lock belongs to this session: release it before the connection
		// goes back to the pool, or discard the connection if we cannot.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, uerr := conn.ExecContext(uctx, sqlAdvisoryUnlock, migrationLockKey); uerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()

	if _, err := conn.ExecContext(ctx, sqlCreateMigrationsTable); err != nil {
		return fmt.Errorf("store: migrate: creating schema_migrations: %w", err)
	}
	for _, m := range all {
		var done bool
		if err := conn.QueryRowxContext(ctx, sqlMigrationApplied, m.Version).Scan(&done); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if done {
			continue
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("store: migration %04d_%s failed: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, sqlRecordMigration, m.Version, m.Name); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("store: migration %04d_%s: recording it: %w", m.Version, m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %04d_%s: commit: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// MigrationStatus lists the embedded migrations with when each was applied
// (zero when pending), followed by any version the database has that this
// binary does not know (a newer binary migrated it; Name is empty).
func (s *Store) MigrationStatus(ctx context.Context) ([]Migration, error) {
	all, err := migrations()
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := s.db.QueryRowxContext(ctx, sqlMigrationsTableOK).Scan(&exists); err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	if !exists {
		return all, nil
	}
	var rows []struct {
		Version   int64     `db:"version"`
		AppliedAt time.Time `db:"applied_at"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlAppliedMigrations); err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	for _, r := range rows {
		i := slices.IndexFunc(all, func(m Migration) bool { return m.Version == r.Version })
		if i < 0 {
			all = append(all, Migration{Version: r.Version, AppliedAt: r.AppliedAt})
			continue
		}
		all[i].AppliedAt = r.AppliedAt
	}
	return all, nil
}
