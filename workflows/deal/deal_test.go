package deal

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

// soloYAML is a one-milestone plan owned by the solution role, without
// escalations, so a staffing problem is reported once.
const soloYAML = `
name: solo
milestones:
  - {key: a, title: Alpha, role: solution, due: 10d}
`

func TestNewDealRejects(t *testing.T) {
	solo := func(t *testing.T) DealSpec { return spec(mustTemplate(t, soloYAML)) }
	tests := []struct {
		name string
		spec func(t *testing.T) DealSpec
		want []Problem
	}{
		{"missing PMO", func(t *testing.T) DealSpec {
			s := projectSpec(t)
			s.Team.PMO = ""
			return s
		}, []Problem{{Field: "team.pmo", Message: "every deal needs a PMO"}}},
		{"bad currency", func(t *testing.T) DealSpec {
			s := projectSpec(t)
			s.Currency = "usd"
			return s
		}, []Problem{{Field: "currency", Message: `currency "usd" must be a three-letter ISO 4217 code`}}},
		{"negative amount", func(t *testing.T) DealSpec {
			s := projectSpec(t)
			s.Amount = -1
			return s
		}, []Problem{{Field: "amount", Message: "amount cannot be negative"}}},
		{"bad id, no name, no customer", func(t *testing.T) DealSpec {
			s := projectSpec(t)
			s.ID, s.Name, s.Customer = "a/b", " ", ""
			return s
		}, []Problem{
			{Field: "id", Message: "a deal id is required"},
			{Field: "name", Message: "a deal needs a name"},
			{Field: "customer", Message: "a deal needs a customer"},
		}},
		{"invalid plan, with a deal problem", func(t *testing.T) DealSpec {
			s := spec(mustTemplate(t, soloYAML))
			s.Plan.Milestones[0].Role = "sales"
			s.Amount = -5
			return s
		}, []Problem{
			{Field: "amount", Message: "amount cannot be negative"},
			{Field: "milestones[a].role", Message: `unknown role "sales"`},
		}},
		{"milestone with no owner", func(t *testing.T) DealSpec {
			s := solo(t)
			s.Team.Solution = ""
			return s
		}, []Problem{{Field: "milestones[a].owner", Message: "no owner: set owner, or name the deal's solution in team.solution"}}},
		{"review gate reaching nobody", func(t *testing.T) DealSpec {
			s := projectSpec(t)
			s.Team.Approvers = nil
			return s
		}, []Problem{{Field: "milestones[solution-design].review.reviewers", Message: "the review gate reaches nobody on this team (reviewers [approvers])"}}},
		{"escalation target nobody holds", func(t *testing.T) DealSpec {
			s := solo(t)
			s.Plan.Milestones[0].Escalations = []EscalationStep{{Offset: dur("3d"), Target: PartyDirector}, {Offset: dur("-1d"), Target: PartyOwner}}
			s.Team.Director = ""
			return s
		}, []Problem{{Field: "milestones[a].escalations[1].target", Message: "escalation target director is not held by anyone on this team: set team.director"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, evs, err := NewDeal(tt.spec(t), t0)
			if d != nil || evs != nil {
				t.Errorf("NewDeal returned a deal and %d events with an error", len(evs))
			}
			wantProblems(t, err, tt.want...)
		})
	}
}

// TestNewDealDirectorUnset: every milestone of the project plan escalates to
// the director, so each reports the unreachable step (the third, after
// sorting by offset).
func TestNewDealDirectorUnset(t *testing.T) {
	s := projectSpec(t)
	s.Team.Director = ""
	var want []Problem
	for _, m := range s.Plan.Milestones {
		want = append(want, Problem{Field: "milestones[" + m.Key + "].escalations[2].target", Message: "escalation target director is not held"})
	}
	_, _, err := NewDeal(s, t0)
	wantProblems(t, err, want...)
}

func TestNewDealStartsProjectDeal(t *testing.T) {
	s := projectSpec(t)
	s.Currency = ""
	d, evs, err := NewDeal(s, t0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != DealActive || !d.StartedAt.Equal(t0) || d.Currency != "CNY" || d.Template != "project" {
		t.Errorf("deal status %s started %s currency %s template %s", d.Status, d.StartedAt, d.Currency, d.Template)
	}
	if want := (map[string]MilestoneState{"prospect": StateActive, "needs-analysis": StateBlocked, "solution-design": StateBlocked,
		"solution-submission": StateBlocked, "quotation": StateBlocked, "contract": StateBlocked}); !reflect.DeepEqual(states(d), want) {
		t.Errorf("states %v, want %v", states(d), want)
	}
	p := d.Milestone("prospect")
	if !p.ActivatedAt.Equal(t0) || !p.DueAt.Equal(at("7d")) || p.Round != 1 {
		t.Errorf("prospect activated %s due %s round %d, want t0, t0+7d, 1", p.ActivatedAt, p.DueAt, p.Round)
	}
	if p.Owner != "cora" {
		t.Errorf("prospect owner %q, want the commercial lead cora, named in the state", p.Owner)
	}
	if na := d.Milestone("needs-analysis"); !na.ActivatedAt.IsZero() || !na.DueAt.IsZero() || na.Round != 0 {
		t.Errorf("blocked needs-analysis has activation %s due %s round %d", na.ActivatedAt, na.DueAt, na.Round)
	}
	if sd := d.Milestone("solution-design"); sd.Review.Policy != PolicyAny {
		t.Errorf("solution-design policy %q", sd.Review.Policy)
	}

	want := []Event{
		{Seq: 1, Kind: EventDealStarted, At: t0, Actor: "pat"},
		{Seq: 2, Kind: EventMilestoneActivated, At: t0, Actor: SystemActor, Milestone: "prospect", Notify: []string{"cora"}},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %v, want %d", kinds(evs), len(want))
	}
	for i, w := range want {
		e := evs[i]
		if e.Seq != w.Seq || e.Kind != w.Kind || !e.At.Equal(w.At) || e.Actor != w.Actor || e.Milestone != w.Milestone || !slices.Equal(e.Notify, w.Notify) {
			t.Errorf("event %d = %+v, want %+v", i, e, w)
		}
	}
	if msg := evs[0].Message; msg != "deal Harbour ERP started for Harbour Logistics with the project plan (6 milestones)" {
		t.Errorf("started message %q", msg)
	}
	if msg := evs[1].Message; msg != "Prospect identified is now active; owner cora, due 2027-03-08T09:00:00Z" {
		t.Errorf("activated message %q", msg)
	}
	if d.Seq != 2 || d.Version != 1 || !d.UpdatedAt.Equal(t0) {
		t.Errorf("seq %d version %d updated %s", d.Seq, d.Version, d.UpdatedAt)
	}
	if !slices.Equal(d.ActiveKeys(), []string{"prospect"}) || d.Overdue() {
		t.Errorf("active %v overdue %v", d.ActiveKeys(), d.Overdue())
	}
	// The first deadline is the owner's reminder two days before due.
	if n := d.Next; n == nil || !n.At.Equal(at("5d")) || n.Kind != DeadlineEscalation || n.Milestone != "prospect" || n.Target != PartyOwner {
		t.Errorf("next deadline %+v, want the owner reminder for prospect at t0+5d", n)
	}
	if len(d.Metrics.Milestones) != 1 || d.Metrics.Milestones[0].Key != "prospect" {
		t.Errorf("metrics %+v", d.Metrics)
	}
}

func TestNewDealActivatesEveryRoot(t *testing.T) {
	s := spec(mustTemplate(t, parallelYAML))
	s.Plan.Milestones[1].Owner = "olga" // b has a named owner
	d, evs, err := NewDeal(s, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []EventKind{EventDealStarted, EventMilestoneActivated, EventMilestoneActivated}; !slices.Equal(kinds(evs), want) {
		t.Fatalf("events %v, want %v", kinds(evs), want)
	}
	for i, w := range []struct {
		key, owner string
		due        time.Time
	}{{"a", "cora", at("5d")}, {"b", "olga", at("3d")}} {
		e := evs[i+1]
		if e.Seq != int64(i+2) || e.Milestone != w.key || !slices.Equal(e.Notify, []string{w.owner}) {
			t.Errorf("activation %d = %+v, want %s notifying %s", i, e, w.key, w.owner)
		}
		if m := d.Milestone(w.key); m.State != StateActive || !m.DueAt.Equal(w.due) || d.owner(m) != w.owner {
			t.Errorf("%s is %s due %s owned by %s", w.key, m.State, m.DueAt, d.owner(m))
		}
	}
	if d.Milestone("c").State != StateBlocked {
		t.Error("c should wait for a and b")
	}
	if !slices.Equal(d.ActiveKeys(), []string{"a", "b"}) {
		t.Errorf("active keys %v", d.ActiveKeys())
	}
}

func TestNewDealAbsoluteDue(t *testing.T) {
	s := spec(mustTemplate(t, soloYAML))
	due := time.Date(2027, 3, 31, 18, 0, 0, 0, time.FixedZone("", 8*3600))
	s.Plan.Milestones[0].Due = Due{At: due}
	d := startDeal(t, s)
	if got := d.Milestone("a").DueAt; !got.Equal(due) {
		t.Errorf("due %s, want %s", got, due)
	}
}

// TestNewDealLeavesTemplateAlone: filling defaults (review policy, sorted
// escalations) must not write into the caller's template, which may be
// shared by several deals.
func TestNewDealLeavesTemplateAlone(t *testing.T) {
	y := `
name: shared
escalations:
  - {offset: 3d, target: director}
  - {offset: -1d, target: owner}
milestones:
  - {key: a, title: A, role: solution, due: 5d, review: {reviewers: [approvers]}}
  - {key: b, title: B, role: pmo, due: 5d, depends_on: [a], escalations: [{offset: 2d, target: director}, {offset: "0", target: pmo}]}
`
	tmpl, pristine := mustTemplate(t, y), mustTemplate(t, y)
	d := startDeal(t, spec(tmpl))
	if !reflect.DeepEqual(tmpl, pristine) {
		t.Errorf("NewDeal changed its template:\n got %+v\nwant %+v", tmpl, pristine)
	}
	a, b := d.Milestone("a"), d.Milestone("b")
	if a.Review.Policy != PolicyAny {
		t.Errorf("a's policy %q, want any by default", a.Review.Policy)
	}
	for _, m := range []*Milestone{a, b} {
		if !slices.IsSortedFunc(m.Escalations, func(x, y EscalationStep) int { return int(x.Offset - y.Offset) }) {
			t.Errorf("%s escalations not sorted by offset: %+v", m.Key, m.Escalations)
		}
	}
	if len(a.Escalations) != 2 || a.Escalations[0].Target != PartyOwner || len(b.Escalations) != 2 || b.Escalations[0].Target != PartyPMO {
		t.Errorf("a inherits the plan's steps, b keeps its own: %+v / %+v", a.Escalations, b.Escalations)
	}
}

func TestTeam(t *testing.T) {
	team := Team{PMO: "pat", Commercial: "pat", Solution: "sol", Approvers: []string{"ann", "sol", ""}, Director: "dina"}
	if got, want := team.Members(), []string{"pat", "sol", "dina", "ann"}; !slices.Equal(got, want) {
		t.Errorf("Members() = %v, want %v", got, want)
	}
	holders := map[Role]string{RolePMO: "pat", RoleCommercial: "pat", RoleSolution: "sol", "sales": ""}
	for r, want := range holders {
		if got := team.Holder(r); got != want {
			t.Errorf("Holder(%s) = %q, want %q", r, got, want)
		}
	}
	resolve := []struct {
		p    Party
		want []string
	}{
		{PartyOwner, []string{"olga"}},
		{PartyPMO, []string{"pat"}},
		{PartyCommercial, []string{"pat"}},
		{PartySolution, []string{"sol"}},
		{PartyDirector, []string{"dina"}},
		{PartyApprovers, []string{"ann", "sol"}},
		{UserParty("vic"), []string{"vic"}},
	}
	for _, tt := range resolve {
		if got := tt.p.resolve(team, "olga"); !slices.Equal(got, tt.want) {
			t.Errorf("%s resolves to %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := resolveAll([]Party{PartyApprovers, PartySolution, PartyPMO}, team, "olga"); !slices.Equal(got, []string{"ann", "sol", "pat"}) {
		t.Errorf("resolveAll = %v", got)
	}
	if got := PartyDirector.resolve(Team{PMO: "pat"}, "olga"); len(got) != 0 {
		t.Errorf("an unset director resolves to %v", got)
	}
}

// TestDealJSONRoundTrip: the workflow carries the deal as JSON (queries,
// continue-as-new) and plan changes check on a JSON copy, so a deal must
// survive the round trip exactly, sub-second spans included.
func TestDealJSONRoundTrip(t *testing.T) {
	d := projectDeal(t)
	complete(t, d, "prospect", at("1d"))
	complete(t, d, "needs-analysis", at("2d1s"))
	mustApply(t, d, PauseAction{Acting: Acting{"pat"}, Reason: "budget review"}, at("2d1s"))
	mustApply(t, d, ResumeAction{Acting{"pat"}}, at("2d1s").Add(1234567890))
	// The commercial mean cycle time is (1d + 1d1s) / 2 = 1d500ms.
	if got := d.Metrics.Roles[1]; got.Role != RoleCommercial || got.MeanCycleTime != Duration(Day+500*time.Millisecond) {
		t.Fatalf("commercial metrics %+v", got)
	}
	b := dealJSON(t, d)
	var back Deal
	if err := json.Unmarshal([]byte(b), &back); err != nil {
		t.Fatalf("unmarshal deal: %v", err)
	}
	if again := dealJSON(t, &back); again != b {
		t.Errorf("round trip changed the deal:\n%s\n%s", b, again)
	}
	// A plan change is checked on such a copy.
	mustApply(t, d, changePlan("pat", PlanOp{Op: OpRedate, Key: "solution-design", Due: &Due{After: dur("20d")}}), at("3d"))
}
