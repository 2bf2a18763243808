package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// temporalDialTimeout bounds the first connection to Temporal; an address
// that answers nothing should fail with a message, not hang.
const temporalDialTimeout = 30 * time.Second

// dialTemporal connects to the Temporal frontend. The SDK logs through our
// slog logger and reports its metrics to m (nil: none).
func dialTemporal(ctx context.Context, c *Config, log *slog.Logger, m *metrics) (client.Client, error) {
	opts := client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.Namespace,
		Logger:    sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
	}
	if m != nil {
		opts.MetricsHandler = m.SDK
	}
	ctx, cancel := context.WithTimeout(ctx, temporalDialTimeout)
	defer cancel()
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to Temporal at %s (TEMPORAL_ADDRESS), namespace %q: %w",
			c.TemporalAddress, c.Namespace, err)
	}
	return tc, nil
}
