package main

import (
	"io"
	"log/slog"
)

// newLogger returns the process's logger: text (or JSON) on stderr at the
// configured level.
func newLogger(c *Config, stderr io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	var h slog.Handler
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(stderr, opts)
	} else {
		h = slog.NewTextHandler(stderr, opts)
	}
	return slog.New(h)
}
