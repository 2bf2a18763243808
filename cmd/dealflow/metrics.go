package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"

	"dealflow/activities"
	"dealflow/activities/store"
)

// metrics is the process's Prometheus registry: Go runtime and process
// figures, the Temporal SDK's client and worker metrics (through tally),
// and whatever the API registers. Handler serves all of it.
type metrics struct {
	Registry *prometheus.Registry
	// SDK goes into client.Options.MetricsHandler.
	SDK     client.MetricsHandler
	Handler http.Handler
	closer  io.Closer
}

// sdkMetricsInterval is how often tally copies the SDK's figures into the
// Prometheus collectors.
const sdkMetricsInterval = time.Second

// newMetrics builds the registry. A metric the SDK cannot register (a name
// clash) is logged rather than fatal: metrics must never stop a worker.
func newMetrics(log *slog.Logger) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			log.Warn("temporal sdk metric not registered", "err", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &tallyprom.DefaultSanitizerOpts,
	}, sdkMetricsInterval)
	// The SDK names metrics the way Prometheus wants them only through
	// this scope (temporal_request_latency_seconds and so on).
	scope = sdktally.NewPrometheusNamingScope(scope)
	return &metrics{
		Registry: reg,
		SDK:      sdktally.NewMetricsHandler(scope),
		Handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		closer:   closer,
	}
}

// recordings registers the figures of parked recordings (see
// store.RecordOrPark) and returns the counter the activities increment:
// dealflow_recordings_parked_total counts changes parked, and the gauge
// dealflow_parked_changes is how many are parked now (read from the store
// at each scrape). A nil metrics counts nothing.
func (m *metrics) recordings(st *store.Store, log *slog.Logger) activities.Counter {
	if m == nil {
		return nil
	}
	parked := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dealflow_recordings_parked_total",
		Help: "Deal changes the store refused and parked instead of recording (see `dealflow recordings`).",
	})
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dealflow_parked_changes",
		Help: "Deal changes parked in the store now, waiting for a repair and a replay (-1: the store did not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := st.CountParked(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	for _, c := range []prometheus.Collector{parked, gauge} {
		if err := m.Registry.Register(c); err != nil {
			log.Warn("metric not registered", "err", err)
		}
	}
	return parked
}

// Close stops the periodic copy of the SDK's metrics.
func (m *metrics) Close() error { return m.closer.Close() }
