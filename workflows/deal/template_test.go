package deal

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestBuiltinsAreValid is the test Builtins' panic message refers to.
func TestBuiltinsAreValid(t *testing.T) {
	all := Builtins()
	var names []string
	for _, tmpl := range all {
		names = append(names, tmpl.Name)
		if err := tmpl.Validate(); err != nil {
			t.Errorf("%s: %v", tmpl.Name, err)
		}
		if strings.TrimSpace(tmpl.Title) == "" || strings.TrimSpace(tmpl.Description) == "" {
			t.Errorf("%s needs a title and a description", tmpl.Name)
		}
		// Each can start a deal with the standard team.
		if _, _, err := NewDeal(spec(tmpl), t0); err != nil {
			t.Errorf("NewDeal with %s: %v", tmpl.Name, err)
		}
		got, ok := Builtin(tmpl.Name)
		if !ok || got.Name != tmpl.Name || len(got.Milestones) != len(tmpl.Milestones) {
			t.Errorf("Builtin(%q) = %v, %v", tmpl.Name, got.Name, ok)
		}
	}
	if want := []string{"key-account", "project", "solution"}; !slices.Equal(names, want) {
		t.Errorf("built-in templates %v, want %v (sorted by name)", names, want)
	}
	if _, ok := Builtin("nope"); ok {
		t.Error(`Builtin("nope") found a template`)
	}
}

func TestProjectTemplate(t *testing.T) {
	tmpl, _ := Builtin("project")
	var keys []string
	for _, m := range tmpl.Milestones {
		keys = append(keys, m.Key)
	}
	want := []string{"prospect", "needs-analysis", "solution-design", "solution-submission", "quotation", "contract"}
	if !slices.Equal(keys, want) {
		t.Fatalf("project milestones %v, want %v", keys, want)
	}
	for i, m := range tmpl.Milestones {
		if i > 0 && !slices.Equal(m.DependsOn, []string{want[i-1]}) {
			t.Errorf("%s depends on %v, want [%s]", m.Key, m.DependsOn, want[i-1])
		}
		if len(m.Checklist) == 0 {
			t.Errorf("%s has no output standard", m.Key)
		}
		if gated := m.Review != nil; gated != (m.Key == "solution-design") {
			t.Errorf("%s review gate = %v; only solution-design is reviewed", m.Key, m.Review)
		}
	}
	sd, ok := tmpl.Milestone("solution-design")
	if !ok || sd.Role != RoleSolution || !slices.Equal(sd.Review.Reviewers, []Party{PartyApprovers}) || sd.Review.Policy != PolicyAny {
		t.Errorf("solution-design = %+v, want a solution milestone reviewed by any approver", sd)
	}
	if sd.Due.After != Duration(14*Day) {
		t.Errorf("solution-design due %s, want 14d", sd.Due)
	}
	if _, ok := tmpl.Milestone("nope"); ok {
		t.Error(`Milestone("nope") found a milestone`)
	}
}

// TestReviewByNamedUser: a review gate may name people instead of a role;
// they review even when they hold no role on the deal.
func TestReviewByNamedUser(t *testing.T) {
	tmpl := mustTemplate(t, `
name: t
milestones:
  - {key: a, title: A, role: solution, due: 5d, review: {reviewers: ["user:lee", approvers], policy: all}}`)
	d := startDeal(t, spec(tmpl))
	mustApply(t, d, submission(d, "a", "sol"), at("1d"))
	if got := d.Milestone("a").Reviewers; !slices.Equal(got, []string{"lee", "ann", "abe"}) {
		t.Errorf("reviewers %v", got)
	}
}

func TestParseTemplateJSON(t *testing.T) {
	tmpl, err := ParseTemplate([]byte(`{"name":"tiny","milestones":[{"key":"a","title":"A","role":"pmo","due":"36h"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m := tmpl.Milestones[0]; m.Due.After != Duration(36*3600e9) || m.Role != RolePMO {
		t.Errorf("parsed %+v", m)
	}
}

// TestValidateProblems has one case per validation message. Each YAML plan
// is valid but for the problem under test.
func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []Problem
	}{
		{
			name: "unknown dependency",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d}
  - {key: b, title: B, role: pmo, due: 1d, depends_on: [a, zz]}`,
			want: []Problem{{Field: "milestones[b].depends_on", Message: `unknown milestone "zz"`}},
		},
		{
			name: "cycle",
			yaml: `
name: t
milestones:
  - {key: start, title: Start, role: pmo, due: 1d}
  - {key: a, title: A, role: pmo, due: 1d, depends_on: [start, b]}
  - {key: b, title: B, role: pmo, due: 1d, depends_on: [c]}
  - {key: c, title: C, role: pmo, due: 1d, depends_on: [a]}`,
			want: []Problem{{Field: "milestones", Message: "dependency cycle: a → b → c → a"}},
		},
		{
			name: "self dependency",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, depends_on: [a]}`,
			want: []Problem{
				{Field: "milestones[a].depends_on", Message: "a milestone cannot depend on itself"},
				{Field: "milestones", Message: "dependency cycle: a → a"},
			},
		},
		{
			name: "duplicate key",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d}
  - {key: a, title: A again, role: pmo, due: 2d}`,
			want: []Problem{{Field: "milestones[a].key", Message: `duplicate key "a"`}},
		},
		{
			name: "bad due duration",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 10x}`,
			want: []Problem{{Field: "milestones[a].due", Message: `bad due "10x"`}},
		},
		{
			name: "bad escalation offset",
			yaml: `
name: t
escalations: [{offset: 1.5d, target: pmo}]
milestones:
  - {key: a, title: A, role: pmo, due: 1d}`,
			want: []Problem{{Field: "escalations[0].offset", Message: `bad duration "1.5d": unknown unit '.'`}},
		},
		{
			name: "missing due",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo}`,
			want: []Problem{{Field: "milestones[a].due", Message: "a milestone needs a due time"}},
		},
		{
			name: "non-positive due",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: -1d}`,
			want: []Problem{{Field: "milestones[a].due", Message: "due -1d must be a positive span after activation"}},
		},
		{
			name: "unknown role",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: sales, due: 1d}`,
			want: []Problem{{Field: "milestones[a].role", Message: `unknown role "sales": use pmo, commercial or solution`}},
		},
		{
			name: "review gate without reviewers",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, review: {reviewers: []}}`,
			want: []Problem{{Field: "milestones[a].review.reviewers", Message: "a review gate needs at least one reviewer"}},
		},
		{
			name: "owner as reviewer",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, review: {reviewers: [approvers, owner]}}`,
			want: []Problem{{Field: "milestones[a].review.reviewers", Message: "the owner cannot review their own milestone"}},
		},
		{
			name: "unknown reviewer",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, review: {reviewers: [boss]}}`,
			want: []Problem{{Field: "milestones[a].review.reviewers[0]", Message: `unknown party "boss"`}},
		},
		{
			name: "reviewer naming no user",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, review: {reviewers: ["user: "]}}`,
			want: []Problem{{Field: "milestones[a].review.reviewers[0]", Message: `"user: " names no user`}},
		},
		{
			name: "unknown review policy",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, review: {reviewers: [approvers], policy: most}}`,
			want: []Problem{{Field: "milestones[a].review.policy", Message: `unknown review policy "most": use any or all`}},
		},
		{
			name: "unknown escalation target on a milestone",
			yaml: `
name: t
milestones:
  - key: a
    title: A
    role: pmo
    due: 1d
    escalations: [{offset: "0", target: pmo}, {offset: 1d, target: ceo}]`,
			want: []Problem{{Field: "milestones[a].escalations[1].target", Message: `unknown escalation target: unknown party "ceo"`}},
		},
		{
			name: "unknown escalation target on the plan",
			yaml: `
name: t
escalations: [{offset: 1d, target: "user:"}]
milestones:
  - {key: a, title: A, role: pmo, due: 1d}`,
			want: []Problem{{Field: "escalations[0].target", Message: `unknown escalation target: "user:" names no user`}},
		},
		{
			name: "unknown buyer stage",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, buyer_stage: signed}`,
			want: []Problem{{Field: "milestones[a].buyer_stage", Message: `unknown buyer stage "signed": use one of contact_added, met_non_decision_maker`}},
		},
		{
			name: "bad key",
			yaml: `
name: t
milestones:
  - {key: Bad Key, title: A, role: pmo, due: 1d}`,
			want: []Problem{{Field: "milestones[Bad Key].key", Message: `key "Bad Key" must be lowercase letters`}},
		},
		{
			name: "missing key",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d}
  - {title: B, role: pmo, due: 1d}`,
			want: []Problem{{Field: "milestones[1].key", Message: `key "" must be lowercase letters`}},
		},
		{
			name: "missing title",
			yaml: `
name: t
milestones:
  - {key: a, title: " ", role: pmo, due: 1d}`,
			want: []Problem{{Field: "milestones[a].title", Message: "a milestone needs a title"}},
		},
		{
			name: "empty checklist item",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, checklist: [one, ""]}`,
			want: []Problem{{Field: "milestones[a].checklist[1]", Message: "checklist items cannot be empty"}},
		},
		{
			name: "duplicate checklist item",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, checklist: [one, two, one]}`,
			want: []Problem{{Field: "milestones[a].checklist", Message: `duplicate checklist item "one"`}},
		},
		{
			name: "bad template name",
			yaml: `
name: My Plan
milestones:
  - {key: a, title: A, role: pmo, due: 1d}`,
			want: []Problem{{Field: "name", Message: `"My Plan" may hold only letters, digits`}},
		},
		{
			name: "unknown field on a milestone",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: pmo, due: 1d, deadline: 2d}`,
			want: []Problem{{Field: "template", Message: `unknown field "deadline"`}},
		},
		{
			name: "unknown field on the plan",
			yaml: `
name: t
owner: pat
milestones:
  - {key: a, title: A, role: pmo, due: 1d}`,
			want: []Problem{{Field: "template", Message: `unknown field "owner"`}},
		},
		{
			name: "not YAML",
			yaml: "name: [t\n",
			want: []Problem{{Field: "template", Message: "yaml"}},
		},
		{
			name: "empty plan",
			yaml: "name: t\nmilestones: []\n",
			want: []Problem{{Field: "milestones", Message: "a plan needs at least one milestone"}},
		},
		{
			name: "several problems together",
			yaml: `
name: t
milestones:
  - {key: a, title: A, role: sales}
  - {key: b, title: B, role: pmo, due: 1d, depends_on: [nope], review: {reviewers: [owner], policy: most}}`,
			want: []Problem{
				{Field: "milestones[a].role", Message: `unknown role "sales"`},
				{Field: "milestones[a].due", Message: "needs a due time"},
				{Field: "milestones[b].review.reviewers", Message: "the owner cannot review"},
				{Field: "milestones[b].review.policy", Message: `unknown review policy "most"`},
				{Field: "milestones[b].depends_on", Message: `unknown milestone "nope"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTemplate([]byte(tt.yaml))
			wantProblems(t, err, tt.want...)
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := ParseTemplate([]byte("name: t\nmilestones:\n  - {key: a, title: A, role: sales, due: -1d}\n"))
	want := `milestones[a].role: unknown role "sales": use pmo, commercial or solution; milestones[a].due: due -1d must be a positive span after activation`
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v\nwant      %s", err, want)
	}
}

func TestValidateTooManyMilestones(t *testing.T) {
	tmpl := Template{Name: "big"}
	for i := range MaxMilestones + 1 {
		tmpl.Milestones = append(tmpl.Milestones, MilestoneSpec{Key: fmt.Sprintf("m%d", i), Title: "M", Role: RolePMO, Due: Due{After: Duration(Day)}})
	}
	wantProblems(t, tmpl.Validate(), Problem{Field: "milestones", Message: "has 501 items; the limit is 500"})
	tmpl.Milestones = tmpl.Milestones[:MaxMilestones]
	if err := tmpl.Validate(); err != nil {
		t.Errorf("%d milestones: %v", MaxMilestones, err)
	}
}
