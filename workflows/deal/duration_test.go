package deal

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"10d", 240 * time.Hour},
		{"36h", 36 * time.Hour},
		{"90s", 90 * time.Second},
		{"5m", 5 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"1h30m15s", time.Hour + 30*time.Minute + 15*time.Second},
		{"-2d", -48 * time.Hour},
		{"+3d", 72 * time.Hour},
		{"0", 0},
		{"-0", 0},
		{"2w", 14 * Day},
		{"1w1d", 8 * Day},
		{"  7d ", 7 * Day},
		{"100000s", 100000 * time.Second},
		// sub-second units, written by String for clock-measured spans
		{"1s500ms", 1500 * time.Millisecond},
		{"1m5s", time.Minute + 5*time.Second},
		{"250us", 250 * time.Microsecond},
		{"7ns", 7},
		{"1d1ms1us1ns", Day + time.Millisecond + time.Microsecond + 1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err != nil {
				t.Fatalf("ParseDuration(%q): %v", tt.in, err)
			}
			if got.Std() != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got.Std(), tt.want)
			}
		})
	}
}

func TestParseDurationErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty duration"},
		{"   ", "empty duration"},
		{"10", `bad duration "10": write a number followed by a unit`},
		{"d", `bad duration "d": write a number followed by a unit`},
		{"10x", `bad duration "10x": unknown unit 'x'`},
		{"1.5d", `bad duration "1.5d": unknown unit '.'`},
		{"1d-2h", `bad duration "1d-2h": write a number followed by a unit`},
		{"--2d", `bad duration "--2d"`},
		{"-", `bad duration "-": a sign needs a number`},
		{"+", `bad duration "+": a sign needs a number`},
		{"100001d", `bad duration "100001d": number out of range`},
		{"99999999999999999999d", "number out of range"},
		{"10D", "unknown unit 'D'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseDuration(%q) error %q, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{240 * time.Hour, "10d"},
		{36 * time.Hour, "1d12h"},
		{-48 * time.Hour, "-2d"},
		{14 * Day, "14d"}, // weeks are read, days are written
		{90 * time.Second, "1m30s"},
		{Day + time.Second, "1d1s"},
		{1500 * time.Millisecond, "1s500ms"},
		{Day + 500*time.Millisecond, "1d500ms"},
		{1, "1ns"},
		{-(Day + time.Hour + time.Minute + time.Second + time.Millisecond + time.Microsecond + 1), "-1d1h1m1s1ms1us1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			d := Duration(tt.d)
			if got := d.String(); got != tt.want {
				t.Fatalf("String(%v) = %q, want %q", tt.d, got, tt.want)
			}
			back, err := ParseDuration(d.String())
			if err != nil || back != d {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v back", d.String(), back.Std(), err, tt.d)
			}
		})
	}
}

func TestDurationStringRoundTripsParsedInput(t *testing.T) {
	for _, in := range []string{"10d", "36h", "90s", "1d12h", "-2d", "+3d", "0", "2w", "1d1ms1us1ns"} {
		d, err := ParseDuration(in)
		if err != nil {
			t.Fatalf("ParseDuration(%q): %v", in, err)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("%q → %q → %v, %v", in, d.String(), back, err)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		A Duration `json:"a"`
		B Duration `json:"b"`
	}{Duration(36 * time.Hour), Duration(-2 * Day)})
	if err != nil || string(b) != `{"a":"1d12h","b":"-2d"}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}

	good := []struct {
		in   string
		want time.Duration
	}{
		{`"10d"`, 10 * Day},
		{`"-2d"`, -2 * Day},
		{`"0"`, 0},
		{`3600`, time.Hour}, // a number is seconds
		{`"1d500ms"`, Day + 500*time.Millisecond},
	}
	for _, tt := range good {
		var d Duration
		if err := json.Unmarshal([]byte(tt.in), &d); err != nil || d.Std() != tt.want {
			t.Errorf("unmarshal %s = %v, %v; want %v", tt.in, d.Std(), err, tt.want)
		}
	}

	bad := []struct{ in, want string }{
		{`"10x"`, `unknown unit 'x'`},
		{`""`, "empty duration"},
		{`1.5`, `bad duration 1.5: write it as a string like "10d"`},
		{`true`, `bad duration true`},
		{`{}`, `bad duration {}`},
	}
	for _, tt := range bad {
		var d Duration
		err := json.Unmarshal([]byte(tt.in), &d)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("unmarshal %s: error %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestParseDue(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	tests := []struct {
		in   string
		want Due
	}{
		{"10d", Due{After: Duration(10 * Day)}},
		{"36h", Due{After: Duration(36 * time.Hour)}},
		{"2027-03-31T18:00:00+08:00", Due{At: time.Date(2027, 3, 31, 18, 0, 0, 0, cst)}},
		{" 2027-03-31T10:00:00Z ", Due{At: time.Date(2027, 3, 31, 10, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		got, err := ParseDue(tt.in)
		if err != nil || got.After != tt.want.After || !got.At.Equal(tt.want.At) {
			t.Errorf("ParseDue(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "soon", "2027-03-31", "10"} {
		if _, err := ParseDue(in); err == nil || !strings.Contains(err.Error(), "bad due") || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("ParseDue(%q) error %v, want a bad due error", in, err)
		}
	}
}

func TestDueFromAndString(t *testing.T) {
	abs := time.Date(2027, 3, 31, 18, 0, 0, 0, time.FixedZone("", 8*3600))
	tests := []struct {
		name   string
		due    Due
		from   time.Time
		str    string
		isZero bool
	}{
		{"span", Due{After: Duration(10 * Day)}, t0.Add(10 * Day), "10d", false},
		{"absolute", Due{At: abs}, abs, "2027-03-31T18:00:00+08:00", false},
		{"zero", Due{}, t0, "0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.due.From(t0); !got.Equal(tt.from) {
				t.Errorf("From(t0) = %s, want %s", got, tt.from)
			}
			if got := tt.due.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if tt.due.IsZero() != tt.isZero {
				t.Errorf("IsZero() = %v, want %v", tt.due.IsZero(), tt.isZero)
			}
		})
	}
}

func TestDueJSON(t *testing.T) {
	abs := time.Date(2027, 3, 31, 18, 0, 0, 0, time.FixedZone("", 8*3600))
	frac := time.Date(2027, 3, 31, 18, 0, 0, 250_000_000, time.UTC)
	tests := []struct {
		name string
		due  Due
		json string
	}{
		{"span", Due{After: Duration(10 * Day)}, `"10d"`},
		{"span with hours", Due{After: Duration(36 * time.Hour)}, `"1d12h"`},
		{"absolute", Due{At: abs}, `"2027-03-31T18:00:00+08:00"`},
		{"absolute with fraction", Due{At: frac}, `"2027-03-31T18:00:00.25Z"`},
		{"zero", Due{}, `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.due)
			if err != nil || string(b) != tt.json {
				t.Fatalf("marshal = %s, %v; want %s", b, err, tt.json)
			}
			var back Due
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if back.After != tt.due.After || !back.At.Equal(tt.due.At) {
				t.Errorf("round trip %+v → %s → %+v", tt.due, b, back)
			}
		})
	}

	bad := []struct{ in, want string }{
		{`5`, `bad due 5: write it as a string`},
		{`"soon"`, `bad due "soon"`},
		{`"1.5d"`, `bad due "1.5d"`},
	}
	// A bad value decodes (so a template's problems are listed together)
	// and keeps its problem for validation.
	for _, tt := range bad {
		var d Due
		err := json.Unmarshal([]byte(tt.in), &d)
		if err != nil || !strings.Contains(d.Problem(), tt.want) {
			t.Errorf("unmarshal %s: error %v, problem %q, want it to contain %q", tt.in, err, d.Problem(), tt.want)
		}
	}
}
