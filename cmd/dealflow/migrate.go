package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"dealflow/activities/store"
)

func runMigrate(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("migrate", "[-status] [flags]",
		"Applies the pending database migrations (safe to run from several processes at\n"+
			"once: they take turns) and prints every migration with when it was applied.",
		stderr, "database-url", "log-level", "log-format")
	statusOnly := b.fs.Bool("status", false, "only print the status; apply nothing")
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if b.fs.NArg() > 0 {
		return usageErrorf("migrate takes no arguments, got %q", b.fs.Args())
	}
	if err := cfg.requireDatabaseURL(); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if !*statusOnly {
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		log.Info("database migrated", "database", redactURL(cfg.DatabaseURL))
	}
	return printMigrationStatus(ctx, st, stdout)
}

func printMigrationStatus(ctx context.Context, st *store.Store, stdout io.Writer) error {
	ms, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
	pending := 0
	for _, m := range ms {
		applied := "pending"
		if m.Applied() {
			applied = m.AppliedAt.Local().Format(time.DateTime)
		} else {
			pending++
		}
		name := m.Name
		if name == "" {
			name = "(unknown to this binary: a newer dealflow applied it)"
		}
		fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, name, applied)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if pending > 0 {
		fmt.Fprintf(stdout, "%d pending; run `dealflow migrate` to apply\n", pending)
	}
	return nil
}
