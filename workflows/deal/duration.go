package deal

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"dealflow/workflows/problem"
)

// Day is the unit plans are written in. Deals are measured in calendar days:
// a milestone due in 10d is due 240 hours after it becomes active.
const Day = 24 * time.Hour

// MaxDuration is the longest span a plan takes, in either direction.
const MaxDuration = 100 * 365 * Day

// Duration is a signed span written the way PMOs write it: "10d", "36h",
// "90s", "1d12h", "-2d", "+3d" or "0". Weeks ("2w") are accepted too.
type Duration time.Duration

// Sub-second units are not part of the plan syntax users write, but String
// emits them for spans measured by the clock (pauses, cycle times, means), so
// they are parsed too: every Duration survives a JSON round trip exactly.
var durationUnits = []struct {
	suffix string
	unit   time.Duration
}{
	{"w", 7 * Day}, {"d", Day}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
	{"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond},
}

// maxDurationText bounds the text of a span or due time: the longest that
// String writes is "-106751d23h47m16s854ms775us807ns" (32 bytes); an RFC
// 3339 time with nanoseconds and an offset is 35.
const maxDurationText = 64

// ParseDuration parses the plan duration syntax described on Duration: what
// people write in a plan, at most MaxDuration either way.
func ParseDuration(s string) (Duration, error) {
	return parseDuration(s, MaxDuration, 100000)
}

// readDuration parses any span String writes, up to the whole range of a
// time.Duration (about 292 years): derived figures such as a role's total
// cycle time can pass MaxDuration, and a deal's state must always read back.
// Plan fields are held to MaxDuration by validation instead.
func readDuration(s string) (Duration, error) {
	return parseDuration(s, math.MaxInt64, math.MaxInt64)
}

// parseDuration parses the syntax with spans up to limit and numbers up to
// maxCount in each term.
func parseDuration(s string, limit time.Duration, maxCount int64) (Duration, error) {
	if len(s) > maxDurationText {
		return 0, fmt.Errorf("bad duration %q: too long for a span", problem.Clip(s))
	}
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration: write it like 10d, 36h or 90s")
	}
	sign := time.Duration(1)
	switch in[0] {
	case '-':
		sign, in = -1, in[1:]
	case '+':
		in = in[1:]
	}
	if in == "0" {
		return 0, nil
	}
	if in == "" {
		return 0, fmt.Errorf("bad duration %q: a sign needs a number and a unit after it, e.g. -2d", s)
	}
	var total time.Duration
	for in != "" {
		i := 0
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == 0 || i == len(in) {
			return 0, fmt.Errorf("bad duration %q: write a number followed by a unit (w, d, h, m, s), e.g. 10d, 36h, 90s", s)
		}
		n, err := strconv.ParseInt(in[:i], 10, 64)
		if err != nil || n > maxCount {
			return 0, fmt.Errorf("bad duration %q: number out of range", s)
		}
		unit, width := time.Duration(0), 0
		for _, u := range durationUnits { // the longest matching suffix: "ms" before "m"
			if strings.HasPrefix(in[i:], u.suffix) && len(u.suffix) > width {
				unit, width = u.unit, len(u.suffix)
			}
		}
		if unit == 0 {
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (use w, d, h, m or s)", s, in[i])
		}
		// Bound every term and the sum, so a huge count cannot overflow
		// into a negative span.
		if n > int64(limit/unit) || time.Duration(n)*unit > limit-total {
			return 0, fmt.Errorf("bad duration %q: longer than the longest span a plan takes (100 years)", s)
		}
		total += time.Duration(n) * unit
		in = in[i+width:]
	}
	return Duration(sign * total), nil
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats the duration in the plan syntax, largest units first.
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0"
	}
	if v == math.MinInt64 {
		v++ // -v would overflow; a nanosecond off the most negative span
	}
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	// Weeks are read, days are written. Sub-second remainders arise from
	// clock-measured spans (pauses, means); they are written exactly.
	for _, u := range durationUnits[1:] {
		if n := v / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.suffix)
			v -= n * u.unit
		}
	}
	return b.String()
}

// MarshalJSON writes the duration as its plan string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a plan string ("10d") or, for convenience, a whole
// number of seconds. Both paths have the same bounds: whatever String
// writes is read back, and validation holds a plan's spans to MaxDuration
// either way (Template.Validate, the actions' checks).
func (d *Duration) UnmarshalJSON(b []byte) error {
	v, err := decodeDuration(b)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// decodeDuration reads a duration from its JSON form, string or number,
// over the whole range String writes (see readDuration); validation holds
// plan fields to MaxDuration, whichever way they were written.
func decodeDuration(b []byte) (Duration, error) {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return readDuration(s)
	}
	var secs int64
	if json.Unmarshal(b, &secs) != nil {
		return 0, fmt.Errorf("bad duration %s: write it as a string like \"10d\" (or a whole number of seconds)", problem.Clip(string(b)))
	}
	if secs > int64(math.MaxInt64/time.Second) || secs < -int64(math.MaxInt64/time.Second) {
		return 0, fmt.Errorf("bad duration %d seconds: longer than the longest span a plan takes (100 years)", secs)
	}
	return Duration(time.Duration(secs) * time.Second), nil
}

// Due is when a milestone falls due: either a span after it becomes active
// ("10d") or an absolute instant (RFC 3339, "2027-03-31T18:00:00+08:00").
//
// Decoding JSON never fails on a bad value: it keeps why the value is bad,
// and validation reports it with every other problem of the plan (see
// Problem).
type Due struct {
	After Duration
	At    time.Time
	bad   string // why the decoded value was refused; "" when it was read
}

// Problem says why the decoded value was refused, or "" when it was read.
func (d Due) Problem() string { return d.bad }

// IsZero reports whether no due time was given.
func (d Due) IsZero() bool { return d.After == 0 && d.At.IsZero() }

// From returns the due instant for a milestone that became active at activated.
func (d Due) From(activated time.Time) time.Time {
	if !d.At.IsZero() {
		return d.At
	}
	return activated.Add(d.After.Std())
}

// String formats the due time as it is written in a plan.
func (d Due) String() string {
	if !d.At.IsZero() {
		return d.At.Format(time.RFC3339Nano) // as RFC 3339 for whole seconds; exact otherwise
	}
	return d.After.String()
}

// ParseDue parses a span or an RFC 3339 instant.
func ParseDue(s string) (Due, error) { return parseDue(s, ParseDuration) }

func parseDue(s string, parse func(string) (Duration, error)) (Due, error) {
	if len(s) > maxDurationText {
		return Due{}, fmt.Errorf("bad due %q: too long for a span or a time", problem.Clip(s))
	}
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(s)); err == nil {
		return Due{At: t}, nil
	}
	d, err := parse(s)
	if err != nil {
		return Due{}, fmt.Errorf("bad due %q: write a span after activation (10d, 36h) or an RFC 3339 time (2027-03-31T18:00:00+08:00)", s)
	}
	return Due{After: d}, nil
}

// MarshalJSON writes the due time as its plan string.
func (d Due) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a span or an RFC 3339 instant. A bad value is kept as
// a problem for validation to report (see Problem), so a plan's problems
// are all listed at once; only malformed JSON fails here.
func (d *Due) UnmarshalJSON(b []byte) error {
	v, err := decodeDue(b)
	if err != nil {
		v = Due{bad: err.Error()}
	}
	*d = v
	return nil
}

func decodeDue(b []byte) (Due, error) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Due{}, fmt.Errorf("bad due %s: write it as a string like \"10d\" or an RFC 3339 time", problem.Clip(string(b)))
	}
	if s == "" {
		return Due{}, nil
	}
	return parseDue(s, readDuration)
}
