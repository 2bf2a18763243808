package plan

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParseTemplate: any bytes either parse into a valid template that
// survives a JSON round trip, or fail with a ValidationError that says what
// is wrong. Never a panic.
func FuzzParseTemplate(f *testing.F) {
	for _, t := range Builtins() {
		b, err := json.Marshal(t)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: x\nmilestones:\n  - {key: a, title: A, role: pmo, due: 1d}\n"))
	f.Add([]byte("name: loop\nmilestones:\n  - {key: a, title: A, role: pmo, due: 1d, depends_on: [b]}\n  - {key: b, title: B, role: pmo, due: 1d, depends_on: [a]}\n"))
	f.Add([]byte(`{"name": "x", "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "2027-01-01T00:00:00Z", "review": {"reviewers": ["user:ann"], "policy": "all"}}]}`))
	f.Add([]byte(`{"name": "x", "milestones": [{"key": "a", "due": "-1d", "escalations": [{"offset": "x"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := ParseTemplate(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 || ve.Error() == "" {
				t.Fatalf("error %v (%T) is not a ValidationError with problems", err, err)
			}
			return
		}
		if err := tmpl.Validate(); err != nil {
			t.Fatalf("parsed template does not validate: %v", err)
		}
		b, err := json.Marshal(tmpl)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := ParseTemplate(b); err != nil {
			t.Fatalf("round trip of %s: %v", b, err)
		}
	})
}

// FuzzDurationAndDue: whatever parses prints back to the same value.
func FuzzDurationAndDue(f *testing.F) {
	for _, s := range []string{"10d", "36h", "90s", "1d12h", "-2d", "+3d", "0", "2w", "1500ms", "2027-03-31T18:00:00+08:00", "", "d", "1.5d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDuration(s); err == nil {
			back, err := ParseDuration(d.String())
			if err != nil || back != d {
				t.Fatalf("duration %q → %v → %q → %v (%v)", s, int64(d), d.String(), int64(back), err)
			}
		}
		if due, err := ParseDue(s); err == nil {
			back, err := ParseDue(due.String())
			if err != nil || back.After != due.After || !back.At.Equal(due.At) {
				t.Fatalf("due %q → %q → %+v (%v)", s, due.String(), back, err)
			}
		}
	})
}
