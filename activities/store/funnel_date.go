package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"dealflow/workflows/problem"
)

// FunnelDate is a calendar day with no time of day and no zone: a period's
// first or last day, a holiday. It is "2026-07-01" in JSON and a Postgres
// date. The zero value is no date.
type FunnelDate struct {
	t time.Time // midnight UTC of the day
}

const funnelDateLayout = "2006-01-02"

// ParseFunnelDate reads "2026-07-01".
func ParseFunnelDate(s string) (FunnelDate, error) {
	t, err := time.Parse(funnelDateLayout, s)
	if err != nil {
		return FunnelDate{}, fmt.Errorf("%q is not a date: write it as 2026-07-01", problem.Clip(s))
	}
	return FunnelDate{t: t}, nil
}

// FunnelDateOf is the day an instant falls on in loc.
func FunnelDateOf(t time.Time, loc *time.Location) FunnelDate {
	y, m, d := t.In(loc).Date()
	return FunnelDate{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// IsZero reports whether d is no date.
func (d FunnelDate) IsZero() bool { return d.t.IsZero() }

// String is "2026-07-01".
func (d FunnelDate) String() string { return d.t.Format(funnelDateLayout) }

// AddDays returns the day n days later (earlier when n < 0).
func (d FunnelDate) AddDays(n int) FunnelDate { return FunnelDate{t: d.t.AddDate(0, 0, n)} }

// Before and After compare days.
func (d FunnelDate) Before(o FunnelDate) bool { return d.t.Before(o.t) }
func (d FunnelDate) After(o FunnelDate) bool  { return d.t.After(o.t) }

// Weekday is the day of the week of d.
func (d FunnelDate) Weekday() time.Weekday { return d.t.Weekday() }

// DaysUntil counts the days from d to o (negative when o is earlier).
func (d FunnelDate) DaysUntil(o FunnelDate) int { return int(o.t.Sub(d.t).Hours() / 24) }

// Midnight is the instant d begins in loc.
func (d FunnelDate) Midnight(loc *time.Location) time.Time {
	y, m, day := d.t.Date()
	return time.Date(y, m, day, 0, 0, 0, 0, loc)
}

// MarshalJSON writes "2026-07-01", or null for no date.
func (d FunnelDate) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "2026-07-01" (reports read back from JSON).
func (d *FunnelDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = FunnelDate{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseFunnelDate(s)
	*d = v
	return err
}

// Value stores d as a Postgres date (NULL for no date).
func (d FunnelDate) Value() (driver.Value, error) {
	if d.IsZero() {
		return nil, nil
	}
	return d.String(), nil
}

// Scan reads a Postgres date, which lib/pq returns as a time at midnight.
func (d *FunnelDate) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = FunnelDate{}
	case time.Time:
		y, m, day := v.Date()
		*d = FunnelDate{t: time.Date(y, m, day, 0, 0, 0, 0, time.UTC)}
	case []byte:
		return d.scanText(string(v))
	case string:
		return d.scanText(v)
	default:
		return fmt.Errorf("store: cannot read %T as a date", src)
	}
	return nil
}

func (d *FunnelDate) scanText(s string) error {
	if len(s) > len(funnelDateLayout) {
		s = s[:len(funnelDateLayout)]
	}
	v, err := ParseFunnelDate(s)
	*d = v
	return err
}
