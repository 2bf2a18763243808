package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"dealflow/deploy/localstack"
	"dealflow/workflows"
)

func runRegisterSearchAttributes(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	b := newFlagSet("register-search-attributes", "[flags]",
		"Registers the deal search attributes (DealId, DealStatus, ...) on the Temporal\n"+
			"namespace, so that deals can be found in the Temporal UI and CLI. Registering\n"+
			"attributes that exist with the same type changes nothing; run it before the\n"+
			"first worker, and again after an upgrade that adds attributes.",
		stderr, "temporal-address", "namespace", "log-level", "log-format")
	cfg, err := b.parse(args, env)
	if err != nil {
		return err
	}
	if err := registerSearchAttributes(ctx, cfg); err != nil {
		return err
	}
	attrs := workflows.SearchAttributes()
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "%-18s %s\n", n, attrs[n])
	}
	return nil
}

// registerSearchAttributes makes sure the namespace knows every search
// attribute the deal workflow sets.
func registerSearchAttributes(ctx context.Context, c *Config) error {
	err := localstack.EnsureSearchAttributes(ctx, c.TemporalAddress, c.Namespace, workflows.SearchAttributes())
	if err != nil {
		return fmt.Errorf("registering search attributes on %s, namespace %q: %w",
			c.TemporalAddress, c.Namespace, err)
	}
	return nil
}
