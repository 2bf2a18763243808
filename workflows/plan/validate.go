package plan

import (
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

// Validate checks a template on its own, without a team: keys, dependencies
// (known, acyclic), durations, review gates, escalation targets and buyer
// stages. Every problem is reported, each naming its milestone.
func (t Template) Validate() error {
	var ps problems
	if !keyPattern.MatchString(t.Name) {
		ps.Add("name", "template name %q must be lowercase letters, digits, '-' or '_' (at most 63)", t.Name)
	}
	if len(t.Milestones) == 0 {
		ps.Add("milestones", "a plan needs at least one milestone")
	}
	if len(t.Milestones) > MaxMilestones {
		ps.Add("milestones", "a plan has at most %d milestones, this one has %d", MaxMilestones, len(t.Milestones))
	}
	for i, s := range t.Escalations {
		checkStep(&ps, fmt.Sprintf("escalations[%d]", i), s)
	}
	keys := map[string]bool{}
	for i, m := range t.Milestones {
		field := fmt.Sprintf("milestones[%d]", i)
		if m.Key != "" {
			field = fmt.Sprintf("milestones[%s]", m.Key)
		}
		if keys[m.Key] {
			ps.Add(field+".key", "duplicate key %q: each milestone needs its own key", m.Key)
		}
		keys[m.Key] = true
		checkSpec(&ps, field, m)
	}
	for _, m := range t.Milestones {
		for _, dep := range m.DependsOn {
			if !keys[dep] {
				ps.Add(fmt.Sprintf("milestones[%s].depends_on", m.Key), "unknown milestone %q", dep)
			}
		}
	}
	if cycle := findCycle(t.Milestones); cycle != nil {
		ps.Add("milestones", "dependency cycle: %s", strings.Join(cycle, " → "))
	}
	return ps.Err()
}

// checkSpec checks one milestone's own fields (not its dependencies).
func checkSpec(ps *problems, field string, m MilestoneSpec) {
	if !keyPattern.MatchString(m.Key) {
		ps.Add(field+".key", "key %q must be lowercase letters, digits, '-' or '_' (at most 63), starting with a letter or digit", m.Key)
	}
	if strings.TrimSpace(m.Title) == "" {
		ps.Add(field+".title", "a milestone needs a title")
	}
	if !m.Role.Valid() {
		ps.Add(field+".role", "unknown role %q: use pmo, commercial or solution", m.Role)
	}
	if m.Due.IsZero() {
		ps.Add(field+".due", "a milestone needs a due time, e.g. 10d or an RFC 3339 time")
	} else if m.Due.At.IsZero() && m.Due.After <= 0 {
		ps.Add(field+".due", "due %s must be a positive span after activation", m.Due.After)
	}
	if slices.Contains(m.DependsOn, m.Key) {
		ps.Add(field+".depends_on", "a milestone cannot depend on itself")
	}
	for i, item := range m.Checklist {
		if strings.TrimSpace(item) == "" {
			ps.Add(fmt.Sprintf("%s.checklist[%d]", field, i), "checklist items cannot be empty")
		}
	}
	if dup := firstDuplicate(m.Checklist); dup != "" {
		ps.Add(field+".checklist", "duplicate checklist item %q", dup)
	}
	if r := m.Review; r != nil {
		if len(r.Reviewers) == 0 {
			ps.Add(field+".review.reviewers", "a review gate needs at least one reviewer (a role such as approvers, or user:<id>)")
		}
		for _, p := range r.Reviewers {
			if p == PartyOwner {
				ps.Add(field+".review.reviewers", "the owner cannot review their own milestone")
			} else if err := p.check(); err != nil {
				ps.Add(field+".review.reviewers", "%v", err)
			}
		}
		if r.Policy != "" && r.Policy != PolicyAny && r.Policy != PolicyAll {
			ps.Add(field+".review.policy", "unknown review policy %q: use any or all", r.Policy)
		}
	}
	for i, s := range m.Escalations {
		checkStep(ps, fmt.Sprintf("%s.escalations[%d]", field, i), s)
	}
	if m.BuyerStage != "" {
		if err := m.BuyerStage.check(); err != nil {
			ps.Add(field+".buyer_stage", "%v", err)
		}
	}
}

func checkStep(ps *problems, field string, s EscalationStep) {
	if err := s.Target.check(); err != nil {
		ps.Add(field+".target", "unknown escalation target: %v", err)
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
