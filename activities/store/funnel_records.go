package store

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"dealflow/workflows/problem"
)

// Funnel activity kinds.
const (
	FunnelCall  = "call"
	FunnelVisit = "visit"
	FunnelDemo  = "demo"
)

// FunnelActivity is one sales activity a rep did. Its id is the client's
// (the CRM's), so sending it again changes nothing.
type FunnelActivity struct {
	ID      string    `json:"id"`
	Rep     string    `json:"rep"`
	Kind    string    `json:"kind"`
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`
}

// FunnelActivityInput is an activity as a client sends it, a JSON item or
// a CSV line: every field text, checked by Parse.
type FunnelActivityInput struct {
	ID      string `json:"id"`
	Rep     string `json:"rep"`
	Kind    string `json:"kind"`
	At      string `json:"at"`
	Outcome string `json:"outcome"`
}

// Parse checks the activity; the problem names the first bad field.
func (in FunnelActivityInput) Parse() (FunnelActivity, *problem.Problem) {
	a := FunnelActivity{ID: strings.TrimSpace(in.ID), Rep: strings.TrimSpace(in.Rep),
		Kind: strings.ToLower(strings.TrimSpace(in.Kind)), Outcome: strings.TrimSpace(in.Outcome)}
	if p := checkFunnelID(a.ID); p != nil {
		return a, p
	}
	if a.Rep == "" {
		return a, &problem.Problem{Field: "rep", Message: "required: the user id of the rep who did it"}
	}
	if msg := problem.LineError(a.Rep, problem.MaxKey); msg != "" {
		return a, &problem.Problem{Field: "rep", Message: msg}
	}
	if a.Kind != FunnelCall && a.Kind != FunnelVisit && a.Kind != FunnelDemo {
		return a, &problem.Problem{Field: "kind", Message: fmt.Sprintf("%q is not an activity kind: use call, visit or demo", problem.Clip(in.Kind))}
	}
	if msg := problem.LineError(a.Outcome, problem.MaxName); msg != "" {
		return a, &problem.Problem{Field: "outcome", Message: msg}
	}
	at, p := parseFunnelTime("at", in.At, true)
	if p != nil {
		return a, p
	}
	a.At = *at
	return a, nil
}

// FunnelLead is a lead a rep brought in, and how far it has come: qualified,
// then converted into a customer for Amount. Sending a lead again with the
// same id replaces it, which is how it moves on.
type FunnelLead struct {
	ID          string     `json:"id"`
	Rep         string     `json:"rep"`
	CreatedAt   time.Time  `json:"created_at"`
	QualifiedAt *time.Time `json:"qualified_at,omitempty"`
	ConvertedAt *time.Time `json:"converted_at,omitempty"`
	Amount      *float64   `json:"amount,omitempty"`
}

// FunnelLeadInput is a lead as a client sends it; Amount is a JSON number
// (a CSV line's amount is parsed by the caller).
type FunnelLeadInput struct {
	ID          string   `json:"id"`
	Rep         string   `json:"rep"`
	CreatedAt   string   `json:"created_at"`
	QualifiedAt string   `json:"qualified_at"`
	ConvertedAt string   `json:"converted_at"`
	Amount      *float64 `json:"amount"`
}

// Parse checks the lead; the problem names the first bad field.
func (in FunnelLeadInput) Parse() (FunnelLead, *problem.Problem) {
	l := FunnelLead{ID: strings.TrimSpace(in.ID), Rep: strings.TrimSpace(in.Rep), Amount: in.Amount}
	if p := checkFunnelID(l.ID); p != nil {
		return l, p
	}
	if l.Rep == "" {
		return l, &problem.Problem{Field: "rep", Message: "required: the user id of the rep who owns the lead"}
	}
	if msg := problem.LineError(l.Rep, problem.MaxKey); msg != "" {
		return l, &problem.Problem{Field: "rep", Message: msg}
	}
	created, p := parseFunnelTime("created_at", in.CreatedAt, true)
	if p != nil {
		return l, p
	}
	l.CreatedAt = *created
	if l.QualifiedAt, p = parseFunnelTime("qualified_at", in.QualifiedAt, false); p != nil {
		return l, p
	}
	if l.QualifiedAt != nil && l.QualifiedAt.Before(l.CreatedAt) {
		return l, &problem.Problem{Field: "qualified_at", Message: "is before created_at"}
	}
	if l.ConvertedAt, p = parseFunnelTime("converted_at", in.ConvertedAt, false); p != nil {
		return l, p
	}
	switch {
	case l.ConvertedAt != nil && l.ConvertedAt.Before(l.CreatedAt):
		return l, &problem.Problem{Field: "converted_at", Message: "is before created_at"}
	case l.ConvertedAt != nil && l.Amount == nil:
		return l, &problem.Problem{Field: "amount", Message: "required when converted_at is set: the deal's value"}
	case l.ConvertedAt == nil && l.Amount != nil:
		return l, &problem.Problem{Field: "amount", Message: "only a converted lead has an amount: set converted_at too"}
	case l.Amount != nil && !(*l.Amount >= 0 && *l.Amount < 1e15):
		return l, &problem.Problem{Field: "amount", Message: fmt.Sprintf("must be 0 or more, not %v", *l.Amount)}
	}
	return l, nil
}

const maxFunnelIDLen = 128

// checkFunnelID accepts any id a CRM may use, within reason: 1-128
// printable characters.
func checkFunnelID(id string) *problem.Problem {
	switch {
	case id == "":
		return &problem.Problem{Field: "id", Message: "required: the record's id in your system, so that sending it again changes nothing"}
	case len(id) > maxFunnelIDLen:
		return &problem.Problem{Field: "id", Message: fmt.Sprintf("at most %d characters", maxFunnelIDLen)}
	case strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return &problem.Problem{Field: "id", Message: "must be printable characters only"}
	case problem.LineError(id, maxFunnelIDLen) != "":
		return &problem.Problem{Field: "id", Message: problem.LineError(id, maxFunnelIDLen)}
	}
	return nil
}

// parseFunnelTime reads an RFC 3339 time; "" is no time unless required.
func parseFunnelTime(field, s string, required bool) (*time.Time, *problem.Problem) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return nil, &problem.Problem{Field: field, Message: "required: an RFC 3339 time such as 2026-07-01T09:30:00+08:00"}
		}
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, &problem.Problem{Field: field, Message: fmt.Sprintf("%q is not an RFC 3339 time such as 2026-07-01T09:30:00+08:00", s)}
	}
	return &t, nil
}
