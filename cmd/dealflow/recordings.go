package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"dealflow/activities/store"
	"dealflow/workflows"
)

const recordingsUsage = `Usage:
  dealflow recordings list
  dealflow recordings show DEAL
  dealflow recordings retry [DEAL...]
  dealflow recordings recover DEAL...

A change of a deal the store refuses for good (a constraint, a value Postgres
cannot hold) is parked, with every later change of that deal, instead of
being dropped; the deal's workflow retries it with backoff. list shows the
parked changes; show prints one deal's, batches included, as JSON; retry
replays them in order — every deal's, or those named — once the cause is
repaired, and says what went through and what is still refused.

recover is for changes dropped before parking existed (logged as "change not
recorded"): it reads each deal's workflow history, every run, from Temporal,
and records the changes whose recording failed for good — those still
refused are parked. Recording is idempotent: what is already recorded stays
as it is.
Each subcommand takes -database-url ($DATABASE_URL), recover also
-temporal-address and -namespace; -h shows the flags.
`

func runRecordings(ctx context.Context, args []string, env lookupEnvFunc, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, recordingsUsage)
		return usageErrorf("recordings: which one? list, show or retry")
	}
	switch args[0] {
	case "list", "show", "retry", "recover":
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, recordingsUsage)
		return nil
	default:
		fmt.Fprint(stderr, recordingsUsage)
		return usageErrorf("recordings: unknown subcommand %q", args[0])
	}
	sub := args[0]
	usage := map[string]string{"list": "[flags]", "show": "[flags] DEAL", "retry": "[flags] [DEAL...]", "recover": "[flags] DEAL..."}[sub]
	settings := []string{"database-url", "log-level", "log-format"}
	if sub == "recover" {
		settings = append(settings, "temporal-address", "namespace")
	}
	b := newFlagSet("recordings "+sub, usage, "Parked recordings: see `dealflow recordings -h`.", stderr, settings...)
	cfg, err := b.parse(args[1:], env)
	if err != nil {
		return err
	}
	deals := b.fs.Args()
	switch {
	case sub == "list" && len(deals) > 0:
		return usageErrorf("recordings list: unexpected arguments %q", deals)
	case sub == "show" && len(deals) != 1:
		return usageErrorf("recordings show: name one deal")
	case sub == "recover" && len(deals) == 0:
		return usageErrorf("recordings recover: name the deals")
	}
	if err := cfg.requireDatabaseURL(); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "list":
		return listRecordings(ctx, st, stdout)
	case "show":
		return showRecordings(ctx, st, deals[0], stdout)
	case "recover":
		tc, err := dialTemporal(ctx, cfg, newLogger(cfg, stderr), nil)
		if err != nil {
			return err
		}
		defer tc.Close()
		return recoverRecordings(ctx, st, tc, deals, stdout)
	}
	return retryRecordings(ctx, st, deals, stdout)
}

func listRecordings(ctx context.Context, st *store.Store, w io.Writer) error {
	parked, err := st.ListParked(ctx)
	if err != nil {
		return err
	}
	if len(parked) == 0 {
		fmt.Fprintln(w, "no parked recordings: every deal's record is complete")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEAL\tVERSION\tEVENTS\tFIRST FAILED\tATTEMPTS\tERROR")
	for _, p := range parked {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\n", p.DealID, p.Version, p.Events,
			p.FirstFailedAt.UTC().Format(time.RFC3339), p.Attempts, p.Error)
	}
	return tw.Flush()
}

func showRecordings(ctx context.Context, st *store.Store, d string, w io.Writer) error {
	parked, err := st.ParkedChangesOf(ctx, d)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(parked)
}

// retryRecordings replays and reports; it fails (exit 1) while something
// stays parked, so scripts can tell.
func retryRecordings(ctx context.Context, st *store.Store, deals []string, w io.Writer) error {
	reports, err := st.ReplayDeals(ctx, deals...)
	if err != nil {
		return err
	}
	if len(reports) == 0 {
		fmt.Fprintln(w, "no parked recordings")
		return nil
	}
	left := 0
	for _, r := range reports {
		switch {
		case r.Failed != "":
			left++
			fmt.Fprintf(w, "%s: replay failed, nothing changed: %s\n", r.DealID, r.Failed)
		case r.Parked > 0:
			left++
			fmt.Fprintf(w, "%s: %d recorded, %d still parked: %s\n", r.DealID, r.Replayed, r.Parked, r.Error)
		default:
			fmt.Fprintf(w, "%s: %d recorded, record complete\n", r.DealID, r.Replayed)
		}
	}
	if left > 0 {
		return fmt.Errorf("%d deals still have parked recordings", left)
	}
	return nil
}

// recoverRecordings records the changes each deal's history shows were
// dropped; it fails (exit 1) when some are parked instead.
func recoverRecordings(ctx context.Context, st *store.Store, tc client.Client, deals []string, w io.Writer) error {
	left := 0
	for _, d := range deals {
		changes, err := workflows.DroppedChanges(ctx, tc, d)
		if err != nil {
			return err
		}
		events, parked := 0, 0
		for _, c := range changes {
			events += len(c.Events)
			out, err := st.RecordOrPark(ctx, &c.Deal, c.Events)
			if err != nil {
				return fmt.Errorf("%s: recording v%d: %w", d, c.Deal.Version, err)
			}
			parked = out.Parked
		}
		switch {
		case len(changes) == 0:
			fmt.Fprintf(w, "%s: no dropped changes in its history\n", d)
		case parked > 0:
			left++
			fmt.Fprintf(w, "%s: %d dropped changes (%d events) found; %d changes parked, still refused (dealflow recordings show %s)\n", d, len(changes), events, parked, d)
		default:
			fmt.Fprintf(w, "%s: %d dropped changes (%d events) found and recorded\n", d, len(changes), events)
		}
	}
	if left > 0 {
		return fmt.Errorf("%d deals have changes still refused", left)
	}
	return nil
}
