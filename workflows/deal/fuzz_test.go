package deal

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
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

// FuzzTemplateAndPlanChange: arbitrary JSON for a template and for the ops
// of a plan change, numbers included. Whatever validation accepts starts a
// deal and applies without a panic; the deal encodes, decodes back to the
// same value and stays within MaxStateBytes, also after time passes.
func FuzzTemplateAndPlanChange(f *testing.F) {
	for _, t := range Builtins() {
		b, err := json.Marshal(t)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte(`[{"op": "redate", "key": "prospect", "due": "30d"}]`))
	}
	f.Add([]byte(`{"name": "n", "escalations": [{"offset": 86400, "target": "pmo", "message": "late"}], "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": "1d"}]}`),
		[]byte(`[{"op": "add", "milestone": {"key": "b", "title": "B", "role": "pmo", "due": "2d", "depends_on": ["a"], "escalations": [{"offset": -3600, "target": "owner"}]}}]`))
	f.Add([]byte(`{"name": "n", "escalations": [{"offset": 4000000000, "target": "pmo"}], "milestones": [{"key": "a", "title": "A", "role": "pmo", "due": 5}]}`),
		[]byte(`[{"op": "redate", "key": "a", "due": 1e308}, {"op": "skip", "key": "a", "reason": "x\u0000"}]`))
	f.Add([]byte(`{"name": "n", "milestones": [{"key": "a", "title": "A", "role": "commercial", "due": "3153600000s", "escalations": [{"offset": -3153600000, "target": "director", "message": "<<<<"}]}]}`),
		[]byte(`[{"op": "reassign", "key": "a", "owner": "sol"}, {"op": "redate", "key": "a", "due": "2027-03-31T18:00:00+08:00"}]`))
	f.Fuzz(func(t *testing.T, tmplJSON, opsJSON []byte) {
		var tmpl Template
		if json.Unmarshal(tmplJSON, &tmpl) != nil || tmpl.Validate() != nil {
			return
		}
		roundTrip(t, tmpl)
		if CheckSpec(spec(tmpl), t0) != nil {
			return // staffing, or too large to start
		}
		d, evs, err := NewDeal(spec(tmpl), t0)
		if err != nil {
			t.Fatalf("NewDeal refused what CheckSpec accepted: %v", err)
		}
		checkDeal(t, d, evs)
		var ops []PlanOp
		if json.Unmarshal(opsJSON, &ops) != nil {
			return
		}
		change := changePlan("pat", ops...)
		now := t0.Add(time.Hour)
		if d.Check(change, now) != nil {
			return
		}
		evs, err = d.Apply(change, now)
		if err != nil {
			t.Fatalf("Apply refused what Check accepted: %v", err)
		}
		checkDeal(t, d, evs)
		promised := d.StateBytes()
		d.Advance(now.Add(200 * 365 * Day))
		if n := d.StateBytes(); n > promised {
			t.Fatalf("time took the deal from %d to %d bytes", promised, n)
		}
	})
}

// roundTrip checks that a valid template survives JSON and still validates.
func roundTrip(t *testing.T, tmpl Template) {
	t.Helper()
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatalf("marshal template: %v", err)
	}
	var back Template
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if !reflect.DeepEqual(normalized(back), normalized(tmpl)) {
		t.Fatalf("template changed in a JSON round trip:\n%+v\n%+v", tmpl, back)
	}
	if err := back.Validate(); err != nil {
		t.Fatalf("template no longer validates after a round trip: %v", err)
	}
}

// normalized makes due instants comparable with DeepEqual (a time read back
// carries a fixed zone of the same offset).
func normalized(t Template) Template {
	b, _ := json.Marshal(t)
	var out Template
	_ = json.Unmarshal(b, &out)
	for i := range out.Milestones {
		out.Milestones[i].Due.At = out.Milestones[i].Due.At.UTC()
	}
	return out
}

// checkDeal: the deal encodes, decodes back to the same value, and stays
// within its bounds.
func checkDeal(t *testing.T, d *Deal, evs []Event) {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("marshal deal: %v", err)
	}
	var back Deal
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal deal: %v", err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Fatalf("deal changed in a JSON round trip:\n%s\n%s", b, b2)
	}
	if n := d.StateBytes(); n > MaxStateBytes {
		t.Fatalf("deal of %d bytes, over MaxStateBytes", n)
	}
	if eb, _ := json.Marshal(evs); len(eb) > MaxEventBytes {
		t.Fatalf("%d bytes of events", len(eb))
	}
}
