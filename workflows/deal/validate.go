package deal

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"dealflow/workflows/problem"
)

// Problem is one thing wrong with a plan; the three models share the type.
type Problem = problem.Problem

// ValidationError lists every problem found, so a user fixes a plan in one go.
type ValidationError = problem.Error

type problems = problem.List

var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// MaxMilestones bounds a plan so a deal's state stays well inside Temporal's
// payload limits.
const MaxMilestones = 500

// Validate checks a template on its own, without a team: name, text and
// list limits, keys, dependencies (known, acyclic), durations, review gates,
// escalation targets and buyer stages. Every problem is reported at once,
// each naming its milestone and field.
func (t Template) Validate() error {
	var ps problems
	t.check(&ps, true)
	return ps.Err()
}

// check records the template's problems. With limits false it applies only
// the rules every deal recorded so far passed (see NewDeal): a replayed
// start must never be refused by a limit added later. The limits (text,
// counts, spans within MaxDuration, the encoded size) come on top.
func (t Template) check(ps *problems, limits bool) {
	ps.Key("name", t.Name)
	if limits {
		ps.Line("title", t.Title, problem.MaxName)
		ps.Text("description", t.Description, problem.MaxText)
	}
	if len(t.Milestones) == 0 {
		ps.Add("milestones", "a plan needs at least one milestone")
	}
	ps.Count("milestones", len(t.Milestones), MaxMilestones)
	steps := t.Escalations
	if limits {
		ps.Count("escalations", len(t.Escalations), MaxEscalationSteps)
		steps = first(steps, MaxEscalationSteps)
	}
	for i, s := range steps {
		checkStep(ps, fmt.Sprintf("escalations[%d]", i), s, limits)
	}
	keys := map[string]bool{}
	for i, m := range first(t.Milestones, MaxMilestones) {
		field := specField(i, m.Key)
		if keys[m.Key] {
			ps.Add(field+".key", "duplicate key %q: each milestone needs its own key", problem.Clip(m.Key))
		}
		keys[m.Key] = true
		checkSpec(ps, field, m, limits)
	}
	for i, m := range first(t.Milestones, MaxMilestones) {
		for _, dep := range first(m.DependsOn, MaxDependsOn) {
			if !keys[dep] {
				ps.Add(specField(i, m.Key)+".depends_on", "unknown milestone %q", problem.Clip(dep))
			}
		}
	}
	if cycle := findCycle(t.Milestones); cycle != nil {
		ps.Add("milestones", "dependency cycle: %s", strings.Join(cycle, " → "))
	}
	if limits && len(*ps) == 0 {
		// Cheap bounds passed; the encoded size is the last word. A deal
		// holds more than its plan, so a larger plan cannot start.
		if b, err := json.Marshal(t); err == nil && len(b) > MaxStateBytes {
			ps.Add("template", "encodes to %d bytes; a plan holds at most %d (MaxStateBytes, see docs/limits.md)", len(b), MaxStateBytes)
		}
	}
}

// specField names milestone i of a plan in a field path: by its key when the
// key, valid or not, is a short one-line text; else by its position.
func specField(i int, key string) string {
	if key != "" && problem.LineError(key, problem.MaxKey) == "" {
		return fmt.Sprintf("milestones[%s]", key)
	}
	return fmt.Sprintf("milestones[%d]", i)
}

// checkSpec checks one milestone's own fields (not whether its dependencies
// exist); with limits, the text, count and span limits too (see
// Template.check).
func checkSpec(ps *problems, field string, m MilestoneSpec, limits bool) {
	if !keyPattern.MatchString(m.Key) {
		ps.Add(field+".key", "key %q must be lowercase letters, digits, '-' or '_' (at most 63), starting with a letter or digit", problem.Clip(m.Key))
	}
	if strings.TrimSpace(m.Title) == "" {
		ps.Add(field+".title", "a milestone needs a title")
	} else if limits {
		ps.Line(field+".title", m.Title, problem.MaxName)
	}
	if !m.Role.Valid() {
		ps.Add(field+".role", "unknown role %q: use pmo, commercial or solution", problem.Clip(string(m.Role)))
	}
	if m.Owner != "" && limits {
		checkUser(ps, field+".owner", m.Owner)
	}
	switch {
	case m.Due.bad != "":
		ps.Add(field+".due", "%s", m.Due.bad)
	case m.Due.IsZero():
		ps.Add(field+".due", "a milestone needs a due time, e.g. 10d or an RFC 3339 time")
	case m.Due.At.IsZero() && m.Due.After <= 0:
		ps.Add(field+".due", "due %s must be a positive span after activation", m.Due.After)
	case limits:
		checkDue(ps, field+".due", m.Due)
	}
	deps, items := m.DependsOn, m.Checklist
	if limits {
		ps.Count(field+".depends_on", len(m.DependsOn), MaxDependsOn)
		deps = first(deps, MaxDependsOn)
	}
	if slices.Contains(m.DependsOn, m.Key) {
		ps.Add(field+".depends_on", "a milestone cannot depend on itself")
	}
	for i, dep := range deps {
		if limits && len(dep) > problem.MaxKey {
			ps.Add(fmt.Sprintf("%s.depends_on[%d]", field, i), "%q is not a milestone key (at most 63 characters)", problem.Clip(dep))
		}
	}
	if limits {
		ps.Count(field+".checklist", len(m.Checklist), MaxChecklist)
		items = first(items, MaxChecklist)
	}
	for i, item := range items {
		if strings.TrimSpace(item) == "" {
			ps.Add(fmt.Sprintf("%s.checklist[%d]", field, i), "checklist items cannot be empty")
		} else if limits {
			ps.Line(fmt.Sprintf("%s.checklist[%d]", field, i), item, problem.MaxName)
		}
	}
	if dup := firstDuplicate(m.Checklist); dup != "" {
		ps.Add(field+".checklist", "duplicate checklist item %q", problem.Clip(dup))
	}
	if r := m.Review; r != nil {
		if len(r.Reviewers) == 0 {
			ps.Add(field+".review.reviewers", "a review gate needs at least one reviewer (a role such as approvers, or user:<id>)")
		}
		reviewers := r.Reviewers
		if limits {
			ps.Count(field+".review.reviewers", len(r.Reviewers), MaxReviewers)
			reviewers = first(reviewers, MaxReviewers)
		}
		for i, p := range reviewers {
			f := fmt.Sprintf("%s.review.reviewers[%d]", field, i)
			switch {
			case p == PartyOwner:
				ps.Add(field+".review.reviewers", "the owner cannot review their own milestone")
			case p.check() != nil:
				ps.Add(f, "%v", p.check())
			case limits:
				checkParty(ps, f, p)
			}
		}
		if r.Policy != "" && r.Policy != PolicyAny && r.Policy != PolicyAll {
			ps.Add(field+".review.policy", "unknown review policy %q: use any or all", problem.Clip(string(r.Policy)))
		}
	}
	steps := m.Escalations
	if limits {
		ps.Count(field+".escalations", len(m.Escalations), MaxEscalationSteps)
		steps = first(steps, MaxEscalationSteps)
	}
	for i, s := range steps {
		checkStep(ps, fmt.Sprintf("%s.escalations[%d]", field, i), s, limits)
	}
	if m.BuyerStage != "" {
		if err := m.BuyerStage.check(); err != nil {
			ps.Add(field+".buyer_stage", "%v", err)
		}
	}
}

func checkStep(ps *problems, field string, s EscalationStep, limits bool) {
	if s.bad != "" {
		ps.Add(field+".offset", "%s", s.bad)
	} else if limits && (s.Offset.Std() > MaxDuration || s.Offset.Std() < -MaxDuration) {
		ps.Add(field+".offset", "is longer than the longest span a plan takes (100 years)")
	}
	if err := s.Target.check(); err != nil {
		ps.Add(field+".target", "unknown escalation target: %v", err)
	} else if limits {
		checkParty(ps, field+".target", s.Target)
	}
	if limits {
		ps.Text(field+".message", s.Message, problem.MaxText)
	}
}

// specLimits records only the problems of a milestone spec that its limits
// add to its rules: what a plan change's add is checked for before it is
// tried (the rules are checked by the try, with their own messages).
func specLimits(ps *problems, field string, m MilestoneSpec) {
	var rules, all problems
	checkSpec(&rules, field, m, false)
	checkSpec(&all, field, m, true)
	for _, p := range all {
		if !slices.Contains(rules, p) {
			*ps = append(*ps, p)
		}
	}
}

func firstDuplicate(items []string) string {
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it] {
			return it
		}
		seen[it] = true
	}
	return ""
}

// findCycle returns the members of one dependency cycle, first member
// repeated at the end, or nil when the graph is acyclic.
func findCycle(ms []MilestoneSpec) []string {
	deps := map[string][]string{}
	for _, m := range ms {
		deps[m.Key] = m.DependsOn
	}
	const (
		unvisited = iota
		onStack
		finished
	)
	state := map[string]int{}
	var stack []string
	var visit func(k string) []string
	visit = func(k string) []string {
		state[k] = onStack
		stack = append(stack, k)
		for _, d := range deps[k] {
			if _, known := deps[d]; !known {
				continue
			}
			switch state[d] {
			case onStack:
				i := slices.Index(stack, d)
				return append(slices.Clone(stack[i:]), d)
			case unvisited:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[k] = finished
		return nil
	}
	for _, m := range ms { // plan order, so the reported cycle is stable
		if state[m.Key] == unvisited {
			if c := visit(m.Key); c != nil {
				return c
			}
		}
	}
	return nil
}
