package funnel

import (
	"encoding/json"
	"fmt"
	"time"

	"dealflow/workflows/problem"
)

// Date is a calendar day with no time of day and no zone: a period's
// first or last day, a holiday. It is "2026-07-01" in JSON (the store
// keeps it as a Postgres date). The zero value is no date.
type Date struct {
	t time.Time // midnight UTC of the day
}

const dateLayout = "2006-01-02"

// ParseDate reads "2026-07-01".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date: write it as 2026-07-01", problem.Clip(s))
	}
	return Date{t: t}, nil
}

// DateOf is the day an instant falls on in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// IsZero reports whether d is no date.
func (d Date) IsZero() bool { return d.t.IsZero() }

// String is "2026-07-01".
func (d Date) String() string { return d.t.Format(dateLayout) }

// AddDays returns the day n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date { return Date{t: d.t.AddDate(0, 0, n)} }

// Before and After compare days.
func (d Date) Before(o Date) bool { return d.t.Before(o.t) }
func (d Date) After(o Date) bool  { return d.t.After(o.t) }

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.t.Weekday() }

// DaysUntil counts the days from d to o (negative when o is earlier).
func (d Date) DaysUntil(o Date) int { return int(o.t.Sub(d.t).Hours() / 24) }

// Midnight is the instant d begins in loc.
func (d Date) Midnight(loc *time.Location) time.Time {
	y, m, day := d.t.Date()
	return time.Date(y, m, day, 0, 0, 0, 0, loc)
}

// MarshalJSON writes "2026-07-01", or null for no date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "2026-07-01" (reports read back from JSON).
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDate(s)
	*d = v
	return err
}
