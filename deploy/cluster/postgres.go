package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"dealflow/deploy/localstack"
)

// StartPostgres starts a PostgreSQL server (package localstack) that allows
// maxConnections connections: four services with two pools each, plus
// dealflow's workers and API, need more than the default 100. The setting
// takes a restart, which happens here on the same port.
func StartPostgres(ctx context.Context, opts localstack.PostgresOptions, maxConnections int) (*localstack.Postgres, error) {
	pg, err := localstack.StartPostgres(ctx, opts)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("postgres", pg.URLFor("postgres"))
	if err != nil {
		_ = pg.Stop(ctx)
		return nil, err
	}
	_, err = db.ExecContext(ctx, "ALTER SYSTEM SET max_connections = "+strconv.Itoa(maxConnections))
	_ = db.Close()
	if err != nil {
		_ = pg.Stop(ctx)
		return nil, fmt.Errorf("cluster: setting max_connections: %w", err)
	}
	if err := pg.Stop(ctx); err != nil {
		return nil, err
	}
	opts.Port = pg.Port()
	return localstack.StartPostgres(ctx, opts)
}
