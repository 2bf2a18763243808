package main

import (
	"context"
	"log/slog"
	"fmt"
	"net/url"
	"strings"

	"dealflow/activities/store"
)

// setNotifyChannels checks NOTIFY_CHANNELS: a comma-separated list of
// "log" and KIND=URL entries.
func setNotifyChannels(c *Config, v string) error {
	for _, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		kind, target, hasTarget := strings.Cut(entry, "=")
		switch kind {
		case "log":
			if hasTarget {
				return fmt.Errorf("channel log takes no URL")
			}
		case "webhook", "wecom", "feishu", "slack":
			u, err := url.Parse(target)
			if !hasTarget || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("channel %s needs an http(s) URL: %s=https://...", kind, kind)
			}
		default:
			return fmt.Errorf("unknown channel %q (want log, webhook=URL, wecom=URL, feishu=URL or slack=URL)", kind)
		}
	}
	c.NotifyChannels = v
	return nil
}

// runRelay delivers the outbox's notifications until ctx ends.
//
// TODO: wire notify.Relay once activities/notify lands.
func runRelay(ctx context.Context, c *Config, _ *store.Store, log *slog.Logger) error {
	log.Warn("notification relay not wired yet; notifications stay in the outbox", "channels", c.NotifyChannels)
	<-ctx.Done()
	return nil
}
