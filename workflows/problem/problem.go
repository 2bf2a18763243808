// Package problem is what the models (deals, funnel, coverage) share to say
// what is wrong with an input: a Problem names one field and says how to fix
// it, an Error lists every problem at once (the API answers it as 422), and
// the rules every text and key a user writes must follow live here, so that
// each model, the API, the console and the CLI apply the same ones.
//
// It imports nothing of ours; every model may import it.
package problem

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with an input, located by a field path such as
// "milestones[needs-analysis].depends_on".
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error lists every problem found, so a user fixes an input in one go.
type Error struct {
	Problems []Problem `json:"problems"`
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// List collects problems while an input is checked.
type List []Problem

// Add records one problem.
func (l *List) Add(field, format string, args ...any) {
	*l = append(*l, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err is nil without problems, else an *Error listing them all.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return &Error{Problems: l}
}

// Limits on what people write, in characters (Unicode code points, so a
// Chinese sentence gets as many as an English one). They are generous for
// real use and small enough that no sequence of allowed actions brings a
// deal near Temporal's payload limits (see the deal model's MaxStateBytes).
const (
	// MaxName bounds one-line labels: deal names, customers, titles,
	// checklist items, user names.
	MaxName = 200
	// MaxText bounds free text: notes, comments, reasons, descriptions,
	// messages. About two pages; a pasted e-mail thread belongs in an
	// evidence link.
	MaxText = 4000
	// MaxLink bounds an evidence link or e-mail address.
	MaxLink = 2048
	// MaxKey bounds an identifier (see Key).
	MaxKey = 64
	// MaxAmount bounds an amount of money (a deal's amount, a funnel
	// target's revenue and deal size): a thousand trillion in any currency,
	// still exact in a float64 to the cent's order of magnitude.
	MaxAmount = 1e15
)

// TextError says why a text is refused; its message names no field, so a
// caller can prefix the one it checks.
func TextError(s string, limit int) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8 text"
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Sprintf("is %d characters long; the limit is %d", n, limit)
	}
	for _, r := range s {
		if control(r) && r != '\t' && r != '\n' && r != '\r' {
			return fmt.Sprintf("contains the control character U+%04X; only tab and line breaks are allowed", r)
		}
	}
	return ""
}

// LineError is TextError for one-line labels: no line breaks or tabs either.
func LineError(s string, limit int) string {
	if msg := TextError(s, limit); msg != "" {
		return msg
	}
	if strings.ContainsAny(s, "\t\n\r") {
		return "must be one line, without tabs or line breaks"
	}
	return ""
}

// control reports C0 controls, DEL and the C1 controls.
func control(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }

// Text records a problem when s is not acceptable free text of at most limit
// characters: valid UTF-8, no control characters but tab and line breaks.
func (l *List) Text(field, s string, limit int) {
	if msg := TextError(s, limit); msg != "" {
		l.Add(field, "%s", msg)
	}
}

// Line records a problem when s is not an acceptable one-line label of at
// most limit characters.
func (l *List) Line(field, s string, limit int) {
	if msg := LineError(s, limit); msg != "" {
		l.Add(field, "%s", msg)
	}
}

// KeyError says why s is not an identifier, or "" when it is one. Deal ids,
// template names, funnel target and coverage program ids and user ids are
// identifiers: 1 to MaxKey letters, digits, '-', '_' or '.', starting with a
// letter or digit, without "..". They appear in URLs, workflow IDs and
// file names unescaped, so nothing else is allowed.
func KeyError(s string) string {
	switch {
	case s == "":
		return "is required: 1 to 64 letters, digits, '-', '_' or '.'"
	case !utf8.ValidString(s):
		return "is not valid UTF-8 text"
	case len(s) > MaxKey:
		return fmt.Sprintf("is %d characters long; the limit is %d", len(s), MaxKey)
	case !alnum(s[0]):
		return fmt.Sprintf("%q must start with a letter or digit", s)
	case strings.Contains(s, ".."):
		return fmt.Sprintf("%q must not contain \"..\"", s)
	}
	for _, c := range []byte(s) {
		if !alnum(c) && c != '-' && c != '_' && c != '.' {
			return fmt.Sprintf("%q may hold only letters, digits, '-', '_' and '.'", s)
		}
	}
	return ""
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Key records a problem when s is not an identifier (see KeyError).
func (l *List) Key(field, s string) {
	if msg := KeyError(s); msg != "" {
		l.Add(field, "%s", msg)
	}
}

// Count records a problem when a list holds more than limit items.
func (l *List) Count(field string, n, limit int) {
	if n > limit {
		l.Add(field, "has %d items; the limit is %d", n, limit)
	}
}

// Clip shortens a value quoted back in a message, on a character boundary,
// so a megabyte of garbage is not echoed in full.
func Clip(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
