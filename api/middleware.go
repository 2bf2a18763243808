package api

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// logRequests writes one structured line per request, with its request ID.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the response now, so its status is logged
		}
		level := slog.LevelInfo
		if c.Response().Status >= 500 {
			level = slog.LevelWarn
		}
		attrs := []any{"method", c.Request().Method, "route", c.Path(), "status", c.Response().Status,
			"duration_ms", time.Since(start).Milliseconds(), "request_id", requestID(c)}
		if u := currentUser(c); u != nil {
			attrs = append(attrs, "user", u.ID)
		}
		s.log.Log(c.Request().Context(), level, "http request", attrs...)
		return nil
	}
}

// httpMetrics counts requests and their latency per route and status.
func httpMetrics(reg prometheus.Registerer) echo.MiddlewareFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dealflow_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "dealflow_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
		Buckets: prometheus.ExponentialBuckets(0.002, 2, 13),
	}, []string{"route", "method"})
	reg.MustRegister(requests, latency)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			requests.WithLabelValues(c.Path(), c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
			latency.WithLabelValues(c.Path(), c.Request().Method).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

var requestIDs = middleware.RequestID()
