package deal

import (
	"slices"
	"testing"
	"time"
)

// firing is an expected deadline event.
type firing struct {
	at        string // span after t0
	kind      EventKind
	milestone string
	notify    []string
	level     string // escalation level, for escalation events
}

func checkFirings(t *testing.T, evs []Event, want []firing) {
	t.Helper()
	if len(evs) != len(want) {
		t.Fatalf("%d events %v, want %d", len(evs), kinds(evs), len(want))
	}
	for i, w := range want {
		e := evs[i]
		if !e.At.Equal(at(w.at)) || e.Kind != w.kind || e.Milestone != w.milestone || !slices.Equal(e.Notify, w.notify) ||
			e.Data["level"] != w.level || e.Actor != SystemActor {
			t.Errorf("event %d = %s %s %s notify %v level %q by %s\nwant        %s %s %s notify %v level %q",
				i, e.At.Sub(t0), e.Kind, e.Milestone, e.Notify, e.Data["level"], e.Actor, w.at, w.kind, w.milestone, w.notify, w.level)
		}
	}
}

// parallelFirings is every deadline of parallelDeal, in firing order: b
// (due t0+3d) before a (due t0+5d); at t0+5d a's due and pmo steps win the
// tie with b's director step because a comes first in the plan.
var parallelFirings = []firing{
	{"2d", EventEscalation, "b", []string{"sol"}, "1"},
	{"3d", EventMilestoneOverdue, "b", nil, ""},
	{"3d", EventEscalation, "b", []string{"pat"}, "2"},
	{"4d", EventEscalation, "a", []string{"cora"}, "1"},
	{"5d", EventMilestoneOverdue, "a", nil, ""},
	{"5d", EventEscalation, "a", []string{"pat"}, "2"},
	{"5d", EventEscalation, "b", []string{"dina"}, "3"},
	{"7d", EventEscalation, "a", []string{"dina"}, "3"},
}

func TestNextDeadlineOrder(t *testing.T) {
	d := parallelDeal(t)
	type next struct {
		at        string
		kind      DeadlineKind
		milestone string
		target    Party
	}
	want := []next{
		{"2d", DeadlineEscalation, "b", PartyOwner},
		{"3d", DeadlineDue, "b", ""},
		{"4d", DeadlineEscalation, "a", PartyOwner},
		{"5d", DeadlineDue, "a", ""},
		{"7d", DeadlineEscalation, "a", PartyDirector},
	}
	var got []Event
	for i, w := range want {
		n := d.Next
		if n == nil || !n.At.Equal(at(w.at)) || n.Kind != w.kind || n.Milestone != w.milestone || n.Target != w.target {
			t.Fatalf("next deadline %d = %+v, want %+v", i, n, w)
		}
		if !n.At.Equal(d.nextDeadline().At) {
			t.Errorf("Next %s differs from nextDeadline()", n.At)
		}
		// Advancing just before the deadline fires nothing.
		if evs := d.Advance(n.At.Add(-time.Nanosecond)); len(evs) != 0 {
			t.Fatalf("Advance before %s fired %v", w.at, kinds(evs))
		}
		seq := d.Seq
		evs := d.Advance(n.At)
		checkSeq(t, d, evs, seq)
		got = append(got, evs...)
	}
	if d.Next != nil {
		t.Errorf("deadline after the last step: %+v", d.Next)
	}
	checkFirings(t, got, parallelFirings)
	if d.Next == nil && !d.UpdatedAt.Equal(at("7d")) {
		t.Errorf("updated %s, want t0+7d", d.UpdatedAt)
	}
}

func TestAdvanceLateFiresEverythingMissed(t *testing.T) {
	d := parallelDeal(t)
	seq, version := d.Seq, d.Version
	evs := d.Advance(at("30d"))
	checkSeq(t, d, evs, seq)
	checkFirings(t, evs, parallelFirings)
	if d.Version != version+1 || !d.UpdatedAt.Equal(at("30d")) || d.Next != nil {
		t.Errorf("version %d updated %s next %+v", d.Version, d.UpdatedAt, d.Next)
	}
	if !d.Overdue() {
		t.Error("deal with overdue milestones is not Overdue()")
	}
	// Nothing is left to fire.
	if evs := d.Advance(at("60d")); len(evs) != 0 || d.Version != version+1 {
		t.Errorf("second Advance fired %v", kinds(evs))
	}
}

func TestEscalationLadder(t *testing.T) {
	d := projectDeal(t)
	p := d.Milestone("prospect")
	steps := []struct {
		now        string
		want       []firing
		overdue    bool
		escalation int
		next       string // when the next deadline falls; "" for none
	}{
		{"1d", nil, false, 0, "5d"},
		{"4d23h59m59s", nil, false, 0, "5d"},
		{"5d", []firing{{"5d", EventEscalation, "prospect", []string{"cora"}, "1"}}, false, 1, "7d"},
		{"6d", nil, false, 1, "7d"},
		{"7d", []firing{
			{"7d", EventMilestoneOverdue, "prospect", nil, ""},
			{"7d", EventEscalation, "prospect", []string{"pat"}, "2"},
		}, true, 2, "10d"},
		{"10d", []firing{{"10d", EventEscalation, "prospect", []string{"dina"}, "3"}}, true, 3, ""},
		{"100d", nil, true, 3, ""},
	}
	for _, s := range steps {
		evs := d.Advance(at(s.now))
		checkFirings(t, evs, s.want)
		if p.Overdue != s.overdue || p.Escalation != s.escalation || d.Overdue() != s.overdue {
			t.Errorf("at %s: overdue %v (deal %v) level %d, want %v and %d", s.now, p.Overdue, d.Overdue(), p.Escalation, s.overdue, s.escalation)
		}
		if s.next == "" && d.Next != nil || s.next != "" && (d.Next == nil || !d.Next.At.Equal(at(s.next))) {
			t.Errorf("at %s: next %+v, want %s", s.now, d.Next, s.next)
		}
	}
	wantEsc := []Escalation{
		{Level: 1, At: at("5d"), Targets: []string{"cora"}, Message: "due in two days"},
		{Level: 2, At: at("7d"), Targets: []string{"pat"}, Message: "due today and not done"},
		{Level: 3, At: at("10d"), Targets: []string{"dina"}, Message: "more than three days late; analyse the cause"},
	}
	if len(p.Escalated) != len(wantEsc) {
		t.Fatalf("escalations fired %+v", p.Escalated)
	}
	for i, w := range wantEsc {
		if e := p.Escalated[i]; e.Level != w.Level || !e.At.Equal(w.At) || !slices.Equal(e.Targets, w.Targets) || e.Message != w.Message {
			t.Errorf("escalation %d = %+v, want %+v", i, e, w)
		}
	}
	// The event text and data name the step.
	d2 := projectDeal(t)
	e := d2.Advance(at("10d"))
	if e[0].Message != "Prospect identified (-2d from due, level 1, to owner): due in two days" ||
		e[0].Data["target"] != "owner" || e[0].Data["offset"] != "-2d" {
		t.Errorf("reminder event %+v", e[0])
	}
	if e[1].Message != "Prospect identified is overdue (was due 2027-03-08T09:00:00Z)" {
		t.Errorf("overdue event %+v", e[1])
	}
	if e[3].Data["offset"] != "3d" {
		t.Errorf("director step data %v", e[3].Data)
	}
}

func TestNothingFiresWhenDoneInTime(t *testing.T) {
	d := projectDeal(t)
	complete(t, d, "prospect", at("4d"))
	if evs := d.Advance(at("15d")); len(evs) != 0 {
		t.Errorf("fired %v", kinds(evs))
	}
	p := d.Milestone("prospect")
	if p.Overdue || p.Escalation != 0 || len(p.Escalated) != 0 {
		t.Errorf("prospect overdue %v level %d", p.Overdue, p.Escalation)
	}
	// Next is needs-analysis's reminder: active at 4d, due 18d, reminder 16d.
	if n := d.Next; n == nil || n.Milestone != "needs-analysis" || !n.At.Equal(at("16d")) {
		t.Errorf("next %+v", n)
	}
}

func TestDoneAfterReminderStopsTheLadder(t *testing.T) {
	d := projectDeal(t)
	d.Advance(at("6d"))
	complete(t, d, "prospect", at("6d"))
	evs := d.Advance(at("12d"))
	for _, e := range evs {
		if e.Milestone == "prospect" {
			t.Errorf("done milestone fired %s", e.Kind)
		}
	}
	if p := d.Milestone("prospect"); p.Escalation != 1 || p.Overdue {
		t.Errorf("prospect level %d overdue %v", p.Escalation, p.Overdue)
	}
}

func TestPastRemindersDroppedAtActivation(t *testing.T) {
	tests := []struct {
		due      string
		alarms   int
		nextAt   string
		nextKind DeadlineKind
	}{
		{"36h", 1, "36h", DeadlineDue},                 // reminder at t0-12h: dropped
		{"2d", 1, "2d", DeadlineDue},                   // reminder exactly at activation: dropped
		{"2d1s", 0, "1s", DeadlineEscalation},          // reminder a second after activation: kept
		{"10d", 0, "8d", DeadlineEscalation},           // the usual case
		{"2027-03-02T09:00:00Z", 1, "1d", DeadlineDue}, // absolute due, one day out
	}
	for _, tt := range tests {
		t.Run(tt.due, func(t *testing.T) {
			s := projectSpec(t)
			due, err := ParseDue(tt.due)
			if err != nil {
				t.Fatal(err)
			}
			s.Plan.Milestones[0].Due = due
			d := startDeal(t, s)
			if p := d.Milestone("prospect"); p.Alarms != tt.alarms {
				t.Errorf("alarms fired %d, want %d", p.Alarms, tt.alarms)
			}
			if n := d.Next; n == nil || !n.At.Equal(at(tt.nextAt)) || n.Kind != tt.nextKind {
				t.Errorf("next %+v, want %s at t0+%s", n, tt.nextKind, tt.nextAt)
			}
			evs := d.Advance(at("30d"))
			for _, e := range evs {
				if e.Data["level"] == "1" && e.Data["target"] == "owner" && tt.alarms == 1 {
					t.Errorf("dropped reminder fired: %+v", e)
				}
			}
		})
	}
}

func TestRedateResetsAlarms(t *testing.T) {
	d := projectDeal(t)
	d.Advance(at("8d"))
	p := d.Milestone("prospect")
	if !p.Overdue || p.Escalation != 2 {
		t.Fatalf("prospect overdue %v level %d before the redate", p.Overdue, p.Escalation)
	}
	evs := mustApply(t, d, changePlan("pat", PlanOp{Op: OpRedate, Key: "prospect", Due: &Due{After: dur("14d")}}), at("8d"))
	if !slices.Equal(kinds(evs), []EventKind{EventMilestoneRedated}) || evs[0].Data["due"] != "14d" {
		t.Fatalf("events %+v", evs)
	}
	if !p.DueAt.Equal(at("14d")) || p.Overdue || p.Escalation != 0 || p.Alarms != 0 || d.Overdue() {
		t.Errorf("after redate: due %s overdue %v level %d alarms %d", p.DueAt, p.Overdue, p.Escalation, p.Alarms)
	}
	if len(p.Escalated) != 2 {
		t.Errorf("history of fired escalations lost: %+v", p.Escalated)
	}
	if n := d.Next; n == nil || !n.At.Equal(at("12d")) || n.Target != PartyOwner {
		t.Errorf("next %+v, want the reminder at t0+12d", n)
	}
	// The ladder runs again on the new due time.
	checkFirings(t, d.Advance(at("14d")), []firing{
		{"12d", EventEscalation, "prospect", []string{"cora"}, "1"},
		{"14d", EventMilestoneOverdue, "prospect", nil, ""},
		{"14d", EventEscalation, "prospect", []string{"pat"}, "2"},
	})
}

func TestPauseAndResume(t *testing.T) {
	d := parallelDeal(t)
	complete(t, d, "b", at("1d")) // done milestones keep their times
	evs := mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "customer freeze"}, at("2d"))
	if !slices.Equal(kinds(evs), []EventKind{EventDealPaused}) || !slices.Equal(evs[0].Notify, testTeam().Members()) ||
		evs[0].Message != "deal paused by pat: customer freeze" {
		t.Fatalf("pause events %+v", evs)
	}
	if d.Status != DealPaused || *d.Pause != (Pause{Since: at("2d"), Reason: "customer freeze", By: "pat"}) {
		t.Fatalf("status %s pause %+v", d.Status, d.Pause)
	}
	if d.Next != nil {
		t.Errorf("paused deal without an end has next %+v", d.Next)
	}
	if evs := d.Advance(at("50d")); len(evs) != 0 {
		t.Errorf("paused deal fired %v", kinds(evs))
	}

	paused := 10*Day + 3*time.Hour + 7*time.Millisecond
	evs = mustApply(t, d, ResumeAction{Acting{"pat"}}, at("2d").Add(paused))
	if !slices.Equal(kinds(evs), []EventKind{EventDealResumed}) || evs[0].Data["paused_for"] != "10d3h7ms" ||
		evs[0].Message != "deal resumed after 10d3h; due times moved by the same span" {
		t.Fatalf("resume events %+v", evs)
	}
	if d.Status != DealActive || d.Pause != nil {
		t.Errorf("status %s pause %v", d.Status, d.Pause)
	}
	if got, want := d.Milestone("a").DueAt, at("5d").Add(paused); !got.Equal(want) {
		t.Errorf("a due %s, want %s (shifted by exactly the pause)", got, want)
	}
	if b := d.Milestone("b"); !b.DueAt.Equal(at("3d")) || !b.DoneAt.Equal(at("1d")) {
		t.Errorf("done b moved: due %s done %s", b.DueAt, b.DoneAt)
	}
	if c := d.Milestone("c"); c.State != StateBlocked || !c.DueAt.IsZero() {
		t.Errorf("blocked c: %s due %s", c.State, c.DueAt)
	}
	if n := d.Next; n == nil || n.Milestone != "a" || !n.At.Equal(at("4d").Add(paused)) {
		t.Errorf("next %+v, want a's reminder shifted by the pause", n)
	}
}

func TestResumeShiftsEveryOpenMilestone(t *testing.T) {
	d := parallelDeal(t)
	mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "freeze"}, at("1d"))
	mustApply(t, d, ResumeAction{Acting{"pat"}}, at("4d"))
	for key, due := range map[string]string{"a": "8d", "b": "6d"} {
		if got := d.Milestone(key).DueAt; !got.Equal(at(due)) {
			t.Errorf("%s due %s, want t0+%s", key, got.Sub(t0), due)
		}
	}
}

func TestPauseUntilResumesByItself(t *testing.T) {
	d := projectDeal(t)
	evs := mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "holidays", Until: at("4d")}, at("1d"))
	if evs[0].Message != "deal paused by pat: holidays (until 2027-03-05T09:00:00Z)" {
		t.Errorf("pause message %q", evs[0].Message)
	}
	if n := d.Next; n == nil || n.Kind != DeadlineResume || !n.At.Equal(at("4d")) || n.Milestone != "" {
		t.Fatalf("next %+v, want the resume at t0+4d", n)
	}
	if evs := d.Advance(at("4d").Add(-time.Nanosecond)); len(evs) != 0 {
		t.Fatalf("fired before the pause ends: %v", kinds(evs))
	}
	// Called late: the resume fires at its own instant, then the reminder of
	// the shifted due time (t0+10d, reminder t0+8d).
	seq := d.Seq
	evs = d.Advance(at("9d"))
	checkSeq(t, d, evs, seq)
	if len(evs) != 2 || evs[0].Kind != EventDealResumed || !evs[0].At.Equal(at("4d")) || evs[0].Actor != SystemActor || evs[0].Data["paused_for"] != "3d" {
		t.Fatalf("events %+v", evs)
	}
	checkFirings(t, evs[1:], []firing{{"8d", EventEscalation, "prospect", []string{"cora"}, "1"}})
	if d.Status != DealActive || d.Pause != nil || !d.Milestone("prospect").DueAt.Equal(at("10d")) {
		t.Errorf("status %s pause %v due %s", d.Status, d.Pause, d.Milestone("prospect").DueAt)
	}
}

// TestPlanChangeDuringPause: a milestone unblocked while paused waits for
// the resume to start its clock.
func TestPlanChangeDuringPause(t *testing.T) {
	d := projectDeal(t)
	mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "freeze"}, at("1d"))
	mustApply(t, d, changePlan("pat", PlanOp{Op: OpSkip, Key: "prospect", Reason: "known customer"}), at("2d"))
	na := d.Milestone("needs-analysis")
	if na.State != StateBlocked {
		t.Fatalf("needs-analysis %s during the pause", na.State)
	}
	evs := mustApply(t, d, ResumeAction{Acting{"pat"}}, at("5d"))
	if !slices.Equal(kinds(evs), []EventKind{EventDealResumed, EventMilestoneActivated}) {
		t.Fatalf("events %v", kinds(evs))
	}
	if na.State != StateActive || !na.ActivatedAt.Equal(at("5d")) || !na.DueAt.Equal(at("19d")) {
		t.Errorf("needs-analysis %s activated %s due %s", na.State, na.ActivatedAt, na.DueAt)
	}
}

func TestPauseRefusals(t *testing.T) {
	pausedDeal := func(t *testing.T) *Deal {
		d := projectDeal(t)
		toDesign(t, d)
		mustApply(t, d, submission(d, "solution-design", "sol"), at("3d"))
		mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "customer freeze"}, at("4d"))
		return d
	}
	const paused = "the deal is paused since 2027-03-05T09:00:00Z (customer freeze); the PMO must resume it first"
	tests := []struct {
		name   string
		deal   func(t *testing.T) *Deal
		action Action
		code   ErrorCode
		want   string
	}{
		{"pause by non-PMO", projectDeal, PauseAction{Acting: Acting{"cora"}, Reason: "x"}, CodeForbidden, "only the deal's PMO (pat) can pause the deal"},
		{"pause without reason", projectDeal, PauseAction{Acting: Acting{"pat"}}, CodeInvalid, "reason is required: say why you pause the deal"},
		{"pause until the past", projectDeal, PauseAction{Acting: Acting{"pat"}, Reason: "x", Until: at("5d")}, CodeInvalid, "until 2027-03-06T09:00:00Z is not in the future"},
		{"pause until now", projectDeal, PauseAction{Acting: Acting{"pat"}, Reason: "x", Until: at("6d")}, CodeInvalid, "is not in the future"},
		{"resume when not paused", projectDeal, ResumeAction{Acting{"pat"}}, CodeConflict, "the deal is not paused"},
		{"pause twice", pausedDeal, PauseAction{Acting: Acting{"pat"}, Reason: "again"}, CodeConflict, paused},
		{"resume by non-PMO", pausedDeal, ResumeAction{Acting{"cora"}}, CodeForbidden, "only the deal's PMO (pat) can resume the deal"},
		{"submit while paused", pausedDeal, Submit{Acting: Acting{"cora"}, Milestone: "prospect"}, CodeConflict, paused},
		{"review while paused", pausedDeal, approve("solution-design", "ann"), CodeConflict, paused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, tt.deal(t), tt.action, at("6d"), tt.code, tt.want)
		})
	}
}
