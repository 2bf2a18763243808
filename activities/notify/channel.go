// Package notify delivers the notifications the store's outbox holds: a
// Relay claims due rows and sends each to every configured Channel (the log,
// a generic JSON webhook, and the WeCom, Feishu/Lark and Slack chat robots),
// retrying failures with exponential backoff.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Message is one notification as a channel sends it.
type Message struct {
	Recipient string    `json:"recipient"`
	DealID    string    `json:"deal_id"`
	DealName  string    `json:"deal_name,omitempty"`
	Customer  string    `json:"customer,omitempty"`
	Milestone string    `json:"milestone,omitempty"`
	Kind      string    `json:"kind"`
	Text      string    `json:"text"`
	Link      string    `json:"link,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

// Channel sends messages somewhere. Name identifies the channel in the
// outbox (which channels a notification already reached), so it must be
// stable across restarts for the same configuration.
type Channel interface {
	Name() string
	Send(ctx context.Context, m Message) error
}

// SendError is a failed send. Permanent errors (a 4xx other than 429, a
// robot that rejects the message or its key) are not retried; the rest
// (network errors, timeouts, 5xx, 429, rate limits) are.
type SendError struct {
	Channel   string
	Status    int // HTTP status, 0 if none was received
	Code      int // the robot's own error code, 0 if none
	Permanent bool
	Err       error
}

func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString(e.Channel)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": code %d", e.Code)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Permanent {
		b.WriteString(" (permanent)")
	}
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a send error that retrying cannot fix.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// formatText is the plain text chat channels post: who it is for, which
// deal, what happened, and where to look.
func formatText(m Message) string {
	var b strings.Builder
	b.WriteString("[dealflow]")
	if m.Recipient != "" {
		b.WriteString(" @" + m.Recipient)
	}
	deal := m.DealName
	if deal == "" {
		deal = m.DealID
	}
	if deal != "" {
		b.WriteString(" · " + deal)
		if m.Customer != "" {
			b.WriteString(" (" + m.Customer + ")")
		}
	}
	b.WriteString("\n" + m.Text)
	if m.Link != "" {
		b.WriteString("\n" + m.Link)
	}
	return b.String()
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < len("…") {
		return ""
	}
	s = s[:n-len("…")]
	for len(s) > 0 && !validTail(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

func validTail(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// Log writes notifications to a structured logger; it never fails. It is
// the channel for development and the fallback when nothing else is set.
type Log struct {
	logger *slog.Logger
}

// NewLog returns a Log channel writing to logger (slog.Default() if nil).
func NewLog(logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	return &Log{logger: logger}
}

// Name is "log".
func (l *Log) Name() string { return "log" }

// Send logs m at Info level.
func (l *Log) Send(ctx context.Context, m Message) error {
	l.logger.InfoContext(ctx, "notification", "recipient", m.Recipient, "deal", m.DealID,
		"kind", m.Kind, "milestone", m.Milestone, "text", m.Text, "link", m.Link)
	return nil
}
