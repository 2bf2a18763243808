package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"dealflow/activities/notify"
	"dealflow/activities/store"
)

// setNotifyChannels parses NOTIFY_CHANNELS, so that a bad channel list is a
// configuration error at start rather than a relay that never delivers.
func setNotifyChannels(c *Config, v string) error {
	nc, err := notify.ParseConfig(v)
	if err != nil {
		// ParseConfig names the variable itself; we name the source.
		return errors.New(strings.TrimPrefix(err.Error(), notify.EnvChannels+": "))
	}
	if len(nc.Channels) == 0 {
		return errors.New("no channels; use log to only log notifications")
	}
	c.NotifyChannels, c.notify = v, nc
	return nil
}

// runRelay delivers the outbox's notifications until ctx ends.
func runRelay(ctx context.Context, c *Config, st *store.Store, log *slog.Logger) error {
	relay, err := notify.NewRelay(st, c.notify.Build(notify.Options{Logger: log}), notify.RelayConfig{
		LinkBase: c.LinkBase,
		Logger:   log,
	})
	if err != nil {
		return err
	}
	return relay.Run(ctx)
}
