package funnel

import (
	"fmt"
	"slices"
	"time"
	// The zone database inside the binary: a target's time zone must load
	// the same on a slim container without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Window is what one funnel report counts: whole days in the target's
// time zone, from the period's first day through the day before the report
// (the period's last day at most). A report at 08:00 thus covers complete
// days only, and a rep is never judged on a day that has barely begun.
type Window struct {
	// Start and End bound the instants counted: Start <= t < End.
	Start, End time.Time
	// Through is the last day counted; zero when no day has passed yet.
	Through Date
	// WorkingDays in the whole period, Elapsed of them counted, Left the
	// rest (today included, if it is one).
	WorkingDays, Elapsed, Left int
}

// location loads the target's time zone; NewTarget has checked it.
func (t *Target) location() (*time.Location, error) {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("funnel: target %s: time zone %q: %w", t.ID, t.TimeZone, err)
	}
	return loc, nil
}

// IsWorkingDay reports whether d is one of the target's working weekdays
// and not a holiday.
func (t *Target) IsWorkingDay(d Date) bool {
	return slices.Contains(t.WorkingDays, d.Weekday()) && !slices.Contains(t.Holidays, d)
}

// WorkingDaysBetween counts the working days from first to last, both
// included; 0 when last is before first.
func (t *Target) WorkingDaysBetween(first, last Date) int {
	n := 0
	for d := first; !d.After(last); d = d.AddDays(1) {
		if t.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

// Window is what a report made at asOf counts.
func (t *Target) Window(asOf time.Time) (Window, error) {
	loc, err := t.location()
	if err != nil {
		return Window{}, err
	}
	w := Window{Start: t.PeriodStart.Midnight(loc), WorkingDays: t.WorkingDaysBetween(t.PeriodStart, t.PeriodEnd)}
	// The first day not counted: today, or the day after the period.
	stop := DateOf(asOf, loc)
	if after := t.PeriodEnd.AddDays(1); stop.After(after) {
		stop = after
	}
	if !stop.After(t.PeriodStart) {
		w.End, w.Left = w.Start, w.WorkingDays
		return w, nil
	}
	w.End = stop.Midnight(loc)
	w.Through = stop.AddDays(-1)
	w.Elapsed = t.WorkingDaysBetween(t.PeriodStart, w.Through)
	w.Left = w.WorkingDays - w.Elapsed
	return w, nil
}
