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
// deal, what happened, and where to look. Every value in it comes from
// people (deal names, customers, comments, reasons), so each goes through
// esc, the channel's own neutralisation of its markup (see slackText,
// feishuText, weComText); the text dealflow adds carries no markup.
func formatText(m Message, esc func(string) string) string {
	var b strings.Builder
	b.WriteString("[dealflow]")
	if m.Recipient != "" {
		b.WriteString(" @" + esc(m.Recipient))
	}
	deal := m.DealName
	if deal == "" {
		deal = m.DealID
	}
	if deal != "" {
		b.WriteString(" · " + esc(deal))
		if m.Customer != "" {
			b.WriteString(" (" + esc(m.Customer) + ")")
		}
	}
	b.WriteString("\n" + esc(m.Text))
	if m.Link != "" {
		b.WriteString("\n" + esc(m.Link))
	}
	return b.String()
}

// slackEscaper escapes the three characters Slack's mrkdwn parses as
// control characters, as Slack documents (Formatting text: escaping):
// '&' as &amp;, '<' as &lt;, '>' as &gt;. Every special sequence (<!channel>,
// <!here>, <!everyone>, <@U123>, <#C1>, <!subteam^S1>, <https://x|label>,
// <!date^...>) starts with '<', so none survives; Slack shows the escaped
// characters as typed. A plain "@channel" is not a mention in an incoming
// webhook's text unless the payload sets link_names, which dealflow never
// does.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackText(s string) string { return slackEscaper.Replace(s) }

// feishuEscaper neutralises the markup of a Feishu/Lark text message: its
// tags (<at user_id="all">, <at user_id="ou_...">, <a href>, <b>, <i>,
// <u>, <font>) open with '<', its links are [label](url). Feishu documents
// no escape for them in a bot's text message, so '<', '>', '[' and ']'
// become their full-width forms (＜ ＞ ［ ］), which read the same and which
// Feishu does not parse. Bold (**) and strike-through (~~) are left: they
// change how a text looks, not whom it reaches or where it links.
var feishuEscaper = strings.NewReplacer("<", "\uff1c", ">", "\uff1e", "[", "\uff3b", "]", "\uff3d")

func feishuText(s string) string { return feishuEscaper.Replace(s) }

// weComText is the content of a WeCom robot's text message (msgtype text),
// which the robot shows as is: it parses no markup (<@userid>, <font>,
// [label](url) are markdown-message syntax) and mentions only the user ids
// in the payload's mentioned_list and mentioned_mobile_list, which dealflow
// never sends. So nothing needs escaping; the function exists so that the
// choice is made here, next to the other channels'.
func weComText(s string) string { return s }

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
