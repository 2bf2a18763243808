package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	_ "github.com/lib/pq" // the schema version check below
)

// DB says where the cluster's databases live: a PostgreSQL server whose
// User may create databases (trust authentication: no password).
type DB struct {
	Host string
	Port int
	User string
	// Persistence and Visibility are the two databases the schemas go in.
	Persistence, Visibility string
}

func (d DB) withDefaults() DB {
	if d.Host == "" {
		d.Host = "127.0.0.1"
	}
	if d.User == "" {
		d.User = "postgres"
	}
	if d.Persistence == "" {
		d.Persistence = "temporal"
	}
	if d.Visibility == "" {
		d.Visibility = "temporal_visibility"
	}
	return d
}

// SetupSchema creates the persistence and visibility databases and their
// schemas with temporal-sql-tool, as an operator installing a cluster does:
// create-database, setup-schema at version 0.0, then update-schema to the
// latest version embedded in the tool (postgresql/v12). It returns the
// schema versions reached (persistence, visibility).
func SetupSchema(ctx context.Context, bin Binaries, db DB) (persistence, visibility string, err error) {
	db = db.withDefaults()
	steps := []struct{ database, schema string }{
		{db.Persistence, "postgresql/v12/temporal"},
		{db.Visibility, "postgresql/v12/visibility"},
	}
	for _, s := range steps {
		common := []string{"--plugin", "postgres12", "--ep", db.Host, "--port", strconv.Itoa(db.Port),
			"--user", db.User, "--db", s.database}
		for _, cmd := range [][]string{
			{"create-database"},
			{"setup-schema", "--version", "0.0"},
			{"update-schema", "--schema-name", s.schema},
		} {
			args := append(append([]string{}, common...), cmd...)
			out, err := exec.CommandContext(ctx, bin.SQLTool, args...).CombinedOutput()
			if err != nil {
				return "", "", fmt.Errorf("cluster: temporal-sql-tool %s: %w\n%s", strings.Join(args, " "), err, out)
			}
		}
	}
	if persistence, err = schemaVersion(ctx, db, db.Persistence); err != nil {
		return "", "", err
	}
	if visibility, err = schemaVersion(ctx, db, db.Visibility); err != nil {
		return "", "", err
	}
	return persistence, visibility, nil
}

// schemaVersion reads the version temporal-sql-tool recorded.
func schemaVersion(ctx context.Context, db DB, database string) (string, error) {
	conn, err := sql.Open("postgres", db.url(database))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var v string
	if err := conn.QueryRowContext(ctx, `SELECT curr_version FROM schema_version WHERE db_name = $1`, database).Scan(&v); err != nil {
		return "", fmt.Errorf("cluster: reading the schema version of %s: %w", database, err)
	}
	return v, nil
}

func (d DB) url(database string) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", d.User, d.Host, d.Port, database)
}
