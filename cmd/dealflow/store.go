package main

import (
	"context"
	"fmt"
	"net/url"

	"dealflow/activities/store"
)

// openStore connects to Postgres, naming the database (without its
// password) when that fails.
func openStore(ctx context.Context, c *Config) (*store.Store, error) {
	st, err := store.Open(ctx, store.Config{URL: c.DatabaseURL})
	if err != nil {
		return nil, fmt.Errorf("cannot open the database %s (DATABASE_URL): %w", redactURL(c.DatabaseURL), err)
	}
	return st, nil
}

// redactURL hides the password of a database URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "(connection string)"
	}
	return u.Redacted()
}
