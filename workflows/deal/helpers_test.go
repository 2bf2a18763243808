package deal

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the fixed clock every test starts from.
var t0 = time.Date(2027, time.March, 1, 9, 0, 0, 0, time.UTC)

// at returns t0 plus a span written in the plan syntax ("3d", "1d12h").
func at(span string) time.Time {
	d, err := ParseDuration(span)
	if err != nil {
		panic(err)
	}
	return t0.Add(d.Std())
}

// testTeam is the fixed team of every test deal.
func testTeam() Team {
	return Team{PMO: "pat", Commercial: "cora", Solution: "sol", Approvers: []string{"ann", "abe"}, Director: "dina"}
}

// spec returns a deal spec for plan with the test team.
func spec(plan Template) DealSpec {
	return DealSpec{ID: "deal-1", Name: "Harbour ERP", Customer: "Harbour Logistics", Amount: 1_200_000,
		Currency: "CNY", Team: testTeam(), Plan: plan}
}

// projectSpec returns a deal spec for the built-in project template.
func projectSpec(t *testing.T) DealSpec {
	t.Helper()
	tmpl, ok := Builtin("project")
	if !ok {
		t.Fatal("no built-in project template")
	}
	return spec(tmpl)
}

// startDeal starts a deal from s at t0 and fails the test on error.
func startDeal(t *testing.T, s DealSpec) *Deal {
	t.Helper()
	d, _, err := NewDeal(s, t0)
	if err != nil {
		t.Fatalf("NewDeal: %v", err)
	}
	return d
}

// projectDeal is a deal from the project template with the test team, started at t0.
func projectDeal(t *testing.T) *Deal {
	t.Helper()
	return startDeal(t, projectSpec(t))
}

// mustTemplate parses a YAML template and fails the test on error.
func mustTemplate(t *testing.T, y string) Template {
	t.Helper()
	tmpl, err := ParseTemplate([]byte(y))
	if err != nil {
		t.Fatalf("ParseTemplate: %v", err)
	}
	return tmpl
}

// parallelYAML is a plan with two parallel milestones a (5d) and b (3d) and
// a milestone c after both; reminders one day before due.
const parallelYAML = `
name: parallel
escalations:
  - {offset: 2d, target: director, message: two days late}
  - {offset: -1d, target: owner, message: due tomorrow}
  - {offset: "0", target: pmo, message: due today}
milestones:
  - {key: a, title: Alpha, role: commercial, due: 5d, checklist: [alpha done]}
  - {key: b, title: Beta, role: solution, due: 3d}
  - {key: c, title: Gamma, role: pmo, due: 2d, depends_on: [a, b]}
`

// parallelDeal is a deal from parallelYAML with the test team, started at t0.
func parallelDeal(t *testing.T) *Deal {
	t.Helper()
	return startDeal(t, spec(mustTemplate(t, parallelYAML)))
}

// mustApply applies a at now and checks the invariants of every successful
// action: events numbered on from the deal's last seq, all stamped now, the
// version bumped once.
func mustApply(t *testing.T, d *Deal, a Action, now time.Time) []Event {
	t.Helper()
	seq, version := d.Seq, d.Version
	evs, err := d.Apply(a, now)
	if err != nil {
		t.Fatalf("%T by %s at %s: %v", a, a.ActorID(), now.Format(time.RFC3339), err)
	}
	checkSeq(t, d, evs, seq)
	for _, e := range evs {
		if !e.At.Equal(now) {
			t.Errorf("%s event at %s, want %s", e.Kind, e.At, now)
		}
	}
	if d.Version != version+1 || !d.UpdatedAt.Equal(now) {
		t.Errorf("version %d updated %s, want %d and %s", d.Version, d.UpdatedAt, version+1, now)
	}
	return evs
}

// checkSeq checks that evs are numbered seq+1, seq+2, ... up to d.Seq.
func checkSeq(t *testing.T, d *Deal, evs []Event, seq int64) {
	t.Helper()
	for i, e := range evs {
		if e.Seq != seq+int64(i)+1 {
			t.Errorf("event %d (%s) has seq %d, want %d", i, e.Kind, e.Seq, seq+int64(i)+1)
		}
	}
	if d.Seq != seq+int64(len(evs)) {
		t.Errorf("deal seq %d, want %d", d.Seq, seq+int64(len(evs)))
	}
}

// wantRefused checks that a is refused at now with code and a message
// containing every substring, by Check and by Apply alike, and that neither
// changes the deal.
func wantRefused(t *testing.T, d *Deal, a Action, now time.Time, code ErrorCode, substrs ...string) {
	t.Helper()
	before := dealJSON(t, d)
	cerr := d.Check(a, now)
	if after := dealJSON(t, d); after != before {
		t.Errorf("Check changed the deal:\nbefore %s\nafter  %s", before, after)
	}
	evs, err := d.Apply(a, now)
	if after := dealJSON(t, d); after != before {
		t.Errorf("refused Apply changed the deal:\nbefore %s\nafter  %s", before, after)
	}
	if evs != nil {
		t.Errorf("refused Apply returned events %v", evs)
	}
	if cerr == nil || err == nil || cerr.Error() != err.Error() {
		t.Fatalf("Check = %v, Apply = %v; want both refused with %s", cerr, err, code)
	}
	var ae *ActionError
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v is not an *ActionError", err, err)
	}
	if ae.Code != code {
		t.Errorf("code %s, want %s (%s)", ae.Code, code, ae.Message)
	}
	for _, s := range substrs {
		if !strings.Contains(ae.Message, s) {
			t.Errorf("message %q does not contain %q", ae.Message, s)
		}
	}
}

// wantCheckRefused checks that Check refuses a at now with code and a
// message containing every substring, changing nothing: the limits on input
// and size are Check's alone (Apply replays recorded actions as they were).
func wantCheckRefused(t *testing.T, d *Deal, a Action, now time.Time, code ErrorCode, substrs ...string) {
	t.Helper()
	before := dealJSON(t, d)
	err := d.Check(a, now)
	if after := dealJSON(t, d); after != before {
		t.Errorf("Check changed the deal:\nbefore %s\nafter  %s", before, after)
	}
	var ae *ActionError
	if !errors.As(err, &ae) {
		t.Fatalf("Check = %v (%T), want an *ActionError with %s", err, err, code)
	}
	if ae.Code != code {
		t.Errorf("code %s, want %s (%s)", ae.Code, code, ae.Message)
	}
	for _, s := range substrs {
		if !strings.Contains(ae.Message, s) {
			t.Errorf("message %q does not contain %q", ae.Message, s)
		}
	}
}

// dealJSON is the deal's serialised form, for before/after comparisons.
func dealJSON(t *testing.T, d *Deal) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("marshal deal: %v", err)
	}
	return string(b)
}

// wantProblems checks that err is a *ValidationError with exactly the given
// problems, in order: Field equal, Message containing the wanted message.
func wantProblems(t *testing.T, err error, want ...Problem) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v, want *ValidationError", err, err)
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(ve.Problems), len(want), ve)
	}
	for i, w := range want {
		p := ve.Problems[i]
		if p.Field != w.Field || !strings.Contains(p.Message, w.Message) {
			t.Errorf("problem %d = %s: %s\nwant       %s: …%s…", i, p.Field, p.Message, w.Field, w.Message)
		}
	}
}

// submission is a Submit of key by actor confirming its whole checklist.
func submission(d *Deal, key, actor string) Submit {
	var items []string
	if m := d.Milestone(key); m != nil {
		items = slices.Clone(m.Checklist)
	}
	return Submit{Acting: Acting{actor}, Milestone: key, Checklist: items, Evidence: []string{"https://docs.example/" + key}}
}

func approve(key, reviewer string) ReviewAction {
	return ReviewAction{Acting: Acting{reviewer}, Milestone: key, Decision: Approve}
}

func reject(key, reviewer, comment string) ReviewAction {
	return ReviewAction{Acting: Acting{reviewer}, Milestone: key, Decision: Reject, Comment: comment}
}

// complete drives key to done at now: its owner submits the whole
// checklist and, behind a review gate, the round's reviewers approve.
func complete(t *testing.T, d *Deal, key string, now time.Time) {
	t.Helper()
	m := d.Milestone(key)
	mustApply(t, d, submission(d, key, d.owner(m)), now)
	for _, r := range slices.Clone(m.Reviewers) {
		if m.State == StateDone {
			break
		}
		mustApply(t, d, approve(key, r), now)
	}
	if m.State != StateDone {
		t.Fatalf("%s is %s after completing it", key, m.State)
	}
}

func changePlan(actor string, ops ...PlanOp) PlanChange {
	return PlanChange{Acting: Acting{actor}, Ops: ops}
}

func kinds(evs []Event) []EventKind {
	out := make([]EventKind, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

func states(d *Deal) map[string]MilestoneState {
	out := map[string]MilestoneState{}
	for _, m := range d.Milestones {
		out[m.Key] = m.State
	}
	return out
}

func eventOf(t *testing.T, evs []Event, kind EventKind) Event {
	t.Helper()
	for _, e := range evs {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %s event in %v", kind, kinds(evs))
	return Event{}
}

func dur(span string) Duration {
	d, err := ParseDuration(span)
	if err != nil {
		panic(err)
	}
	return d
}
