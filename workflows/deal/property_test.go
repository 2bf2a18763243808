package deal

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"
	"time"
)

// TestDurationRoundTripProperty: every Duration the model accepts (within
// MaxDuration either way) marshals and unmarshals to the same value, through
// the string path; whole seconds also through the number path.
func TestDurationRoundTripProperty(t *testing.T) {
	span := int64(MaxDuration)
	inRange := func(x int64) Duration {
		if x < 0 {
			x = -(x % (span + 1)) // -x would overflow at MinInt64
		} else {
			x %= span + 1
		}
		return Duration(x)
	}
	prop := func(x int64, neg bool) bool {
		d := inRange(x)
		if neg {
			d = -d
		}
		b, err := json.Marshal(d)
		if err != nil {
			return false
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Logf("%d → %s → %d (%v)", int64(d), b, int64(back), err)
			return false
		}
		secs := int64(d) / int64(time.Second)
		var fromNumber Duration
		if err := json.Unmarshal([]byte(fmt.Sprint(secs)), &fromNumber); err != nil || fromNumber != Duration(secs*int64(time.Second)) {
			t.Logf("%d seconds → %d (%v)", secs, int64(fromNumber), err)
			return false
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 20000}); err != nil {
		t.Fatal(err)
	}
	// Derived spans (a role's total cycle time, lateness) may pass
	// MaxDuration: whatever a Duration holds reads back from JSON too.
	whole := func(x int64) bool {
		if x == math.MinInt64 {
			x++ // String writes it a nanosecond short; see Duration.String
		}
		b, err := json.Marshal(Duration(x))
		var back Duration
		if err != nil || json.Unmarshal(b, &back) != nil || back != Duration(x) {
			t.Logf("%d → %s → %d", x, b, int64(back))
			return false
		}
		return true
	}
	if err := quick.Check(whole, &quick.Config{MaxCount: 20000}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []int64{math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		if !whole(x) {
			t.Errorf("edge %d", x)
		}
	}
	// A plan's spans stay within MaxDuration: ParseDuration refuses more.
	if _, err := ParseDuration(Duration(MaxDuration + time.Nanosecond).String()); err == nil {
		t.Error("ParseDuration read a span over MaxDuration")
	}
	for _, d := range []Duration{0, 1, -1, Duration(MaxDuration), -Duration(MaxDuration), Duration(MaxDuration - 1)} {
		if !prop(int64(d), false) {
			t.Errorf("edge %d", int64(d))
		}
	}
}

// TestTemplateRoundTripProperty: random templates, with text of every kind
// a person writes, numbers of seconds and spans at the bounds; every one
// that validates survives a JSON round trip, still validates, and starts a
// deal that encodes back to itself within MaxStateBytes; random plan
// changes that Check accepts apply and keep it so.
func TestTemplateRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 800
	if testing.Short() {
		n = 200
	}
	valid := 0
	for i := range n {
		tmpl := randomTemplate(r)
		raw, err := json.Marshal(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		var decoded Template
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if decoded.Validate() != nil {
			continue
		}
		valid++
		roundTrip(t, decoded)
		if CheckSpec(spec(decoded), t0) != nil {
			continue
		}
		d, evs, err := NewDeal(spec(decoded), t0)
		if err != nil {
			t.Fatalf("NewDeal refused what CheckSpec accepted: %v", err)
		}
		checkDeal(t, d, evs)
		now := t0
		for range 5 {
			now = now.Add(time.Duration(r.IntN(200)) * time.Hour)
			d.Advance(now)
			change := changePlan("pat", randomOps(r, d)...)
			if d.Check(change, now) != nil {
				continue
			}
			evs, err := d.Apply(change, now)
			if err != nil {
				t.Fatalf("Apply refused what Check accepted: %v", err)
			}
			checkDeal(t, d, evs)
		}
	}
	if valid < n/4 {
		t.Errorf("only %d of %d random templates were valid: the generator tests little", valid, n)
	}
}

var texts = []string{"", "Plan", "需求调研", "a < b & c > d", "line one\r\nline two", "tab\there", "é", strings.Repeat("<", 300), strings.Repeat("字", 200)}

// text is mostly what people write, now and then something refused.
func text(r *rand.Rand) string {
	if r.IntN(30) == 0 {
		return pick(r, []string{"x\x00y", "\xff", strings.Repeat("x", 4001)})
	}
	return pick(r, texts)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// randomDuration is a span near the interesting edges, or any in range.
func randomDuration(r *rand.Rand) Duration {
	switch r.IntN(4) {
	case 0:
		return Duration(MaxDuration) - Duration(r.Int64N(int64(time.Hour)))
	case 1:
		return Duration(time.Duration(r.Int64N(100)) * Day)
	case 2:
		return Duration(r.Int64N(int64(MaxDuration)))
	}
	return Duration(time.Duration(r.Int64N(1000)) * time.Second)
}

func randomSteps(r *rand.Rand) []EscalationStep {
	var out []EscalationStep
	for range r.IntN(4) {
		off := randomDuration(r)
		if r.IntN(2) == 0 {
			off = -off
		}
		out = append(out, EscalationStep{Offset: off, Target: pick(r, []Party{PartyOwner, PartyPMO, PartyDirector, PartyApprovers, "user:zed"}), Message: text(r)})
	}
	return out
}

func randomTemplate(r *rand.Rand) Template {
	t := Template{Name: pick(r, []string{"plan", "Plan.v2", "a", "plan-2", "x..y"}), Title: pick(r, texts[:4]), Description: text(r), Escalations: randomSteps(r)}
	for i := range 1 + r.IntN(6) {
		m := MilestoneSpec{Key: fmt.Sprintf("m%d", i), Title: pick(r, []string{"Alpha", "需求调研", "a < b", "Beta", "Gamma", "two\nlines"}), Role: pick(r, Roles),
			Due: Due{After: randomDuration(r)}, Escalations: randomSteps(r)}
		switch r.IntN(8) {
		case 0, 1:
			m.Due = Due{At: t0.Add(time.Duration(r.Int64N(int64(300 * Day)))).In(time.FixedZone("", 8*3600))}
		case 2:
			m.Due = Due{At: pick(r, []time.Time{time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
				t0.Add(-MaxDuration), t0.Add(MaxDuration), t0.Add(-Day)})}
		}
		if i > 0 && r.IntN(2) == 0 {
			m.DependsOn = []string{fmt.Sprintf("m%d", r.IntN(i))}
		}
		for range r.IntN(3) {
			m.Checklist = append(m.Checklist, fmt.Sprintf("item %d %s", len(m.Checklist), pick(r, texts[:4])))
		}
		if r.IntN(3) == 0 {
			m.Review = &ReviewGate{Reviewers: []Party{pick(r, []Party{PartyApprovers, PartyDirector, "user:ann"})}, Policy: pick(r, []ReviewPolicy{"", PolicyAll})}
		}
		t.Milestones = append(t.Milestones, m)
	}
	return t
}

func randomOps(r *rand.Rand, d *Deal) []PlanOp {
	var ops []PlanOp
	for range 1 + r.IntN(3) {
		key := d.Milestones[r.IntN(len(d.Milestones))].Key
		switch r.IntN(4) {
		case 0:
			due := Due{After: randomDuration(r)}
			ops = append(ops, PlanOp{Op: OpRedate, Key: key, Due: &due})
		case 1:
			ops = append(ops, PlanOp{Op: OpReassign, Key: key, Owner: pick(r, []string{"cora", "sol", "pat"})})
		case 2:
			ops = append(ops, PlanOp{Op: OpSkip, Key: key, Reason: text(r)})
		default:
			ops = append(ops, PlanOp{Op: OpAdd, Milestone: &MilestoneSpec{Key: fmt.Sprintf("n%d", r.IntN(1000)), Title: "Added", Role: pick(r, Roles),
				Due: Due{After: randomDuration(r)}, DependsOn: []string{key}, Escalations: randomSteps(r)}})
		}
	}
	return ops
}
