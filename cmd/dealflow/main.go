// Command dealflow is dealflow's one binary: the Temporal worker, the HTTP
// API, database migrations, user administration, `dealflow dev`, which
// runs the whole stack on a developer's machine, and `dealflow bench`.
//
// This package holds the subcommands, their flags and settings (config.go)
// and the wiring of the process: the store, the Temporal client, the
// metrics, the API and the worker. The benchmark itself is
// internal/bench, which `dealflow bench` calls after parsing its flags,
// handing it those pieces (bench.Dealflow); nothing else imports it.
//
// Run `dealflow help` for the subcommands and their configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal we shut down gracefully; a second one gets
		// the default behaviour (the process dies, and the kernel stops our
		// Postgres and Temporal children through their parent-death signal).
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// lookupEnvFunc reads the environment; tests pass their own.
type lookupEnvFunc func(key string) (string, bool)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order `dealflow help` shows them.
func commands() []command {
	return []command{
		{"dev", "run everything locally: Postgres, Temporal, worker and API (what `make run` runs)", runDev},
		{"worker", "run the Temporal worker and the notification relay", runWorker},
		{"api", "serve the HTTP API", runAPI},
		{"migrate", "apply database migrations and print their status", runMigrate},
		{"users", "create and list users, issue API tokens", runUsers},
		{"recordings", "list, show and replay deal changes the store refused (parked); recover those dropped before", runRecordings},
		{"register-search-attributes", "register the deal search attributes on the Temporal namespace", runRegisterSearchAttributes},
		{"bench", "benchmark dealflow against a bare Temporal baseline on a stack of its own (make bench)", runBench},
		{"help", "show this help, or a subcommand's: dealflow help SUBCOMMAND", nil},
	}
}

// run dispatches to a subcommand. It is main without the process: tests
// call it with their own arguments, environment and output.
func run(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printUsage(stderr)
		return usageErrorf("no subcommand given")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" {
			// Each subcommand prints its own help for -h; asked for, it
			// goes to stdout.
			return run(ctx, []string{rest[0], "-h"}, env, stdout, stdout)
		}
		printUsage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run(ctx, rest, env, stdout, stderr)
		}
	}
	printUsage(stderr)
	return usageErrorf("unknown subcommand %q", name)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "dealflow runs B2B sales deals as Temporal workflows.\n\n")
	fmt.Fprint(w, "Usage: dealflow SUBCOMMAND [flags]\n\nSubcommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-27s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nConfiguration comes from flags and environment variables; a flag wins over its\n"+
		"variable, and the variable over the default. `dealflow SUBCOMMAND -h` lists the\n"+
		"flags a subcommand reads.\n\n")
	printSettingsTable(w)
}

// usageError is a mistake in the command line or the configuration: the
// process exits with status 2, like flag.ExitOnError would.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode reports err and turns it into the process's exit status: 0 for
// success and for -h, 2 for usage and configuration errors, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "dealflow: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "dealflow: %v\n", err)
		return 1
	}
}
