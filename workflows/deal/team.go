package deal

import (
	"fmt"
	"slices"
	"strings"

	"dealflow/workflows/problem"
)

// Role is one of the three roles that carry a project-type deal.
type Role string

// The roles that own milestones.
const (
	RolePMO        Role = "pmo"
	RoleCommercial Role = "commercial"
	RoleSolution   Role = "solution"
)

// Roles lists the milestone-owning roles in the order the sources name them.
var Roles = []Role{RolePMO, RoleCommercial, RoleSolution}

// Valid reports whether r is a known milestone role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Team names who holds each role on one deal. User IDs are opaque here; the
// API checks that they exist.
type Team struct {
	PMO        string   `json:"pmo"`
	Commercial string   `json:"commercial,omitempty"`
	Solution   string   `json:"solution,omitempty"`
	Approvers  []string `json:"approvers,omitempty"`
	Director   string   `json:"director,omitempty"`
}

// Holder returns the user holding role r, or "".
func (t Team) Holder(r Role) string {
	switch r {
	case RolePMO:
		return t.PMO
	case RoleCommercial:
		return t.Commercial
	case RoleSolution:
		return t.Solution
	}
	return ""
}

// Members returns every user on the team, deduplicated, in a stable order.
func (t Team) Members() []string {
	out := []string{}
	for _, u := range append([]string{t.PMO, t.Commercial, t.Solution, t.Director}, t.Approvers...) {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// Party names who a review gate or an escalation step addresses: a role on
// the deal ("owner", "pmo", "commercial", "solution", "director",
// "approvers") or one person ("user:alice").
type Party string

// The role parties. "owner" means the milestone's owner and is only valid as
// an escalation target.
const (
	PartyOwner      Party = "owner"
	PartyPMO        Party = "pmo"
	PartyCommercial Party = "commercial"
	PartySolution   Party = "solution"
	PartyDirector   Party = "director"
	PartyApprovers  Party = "approvers"
	userPrefix            = "user:"
)

var roleParties = []Party{PartyOwner, PartyPMO, PartyCommercial, PartySolution, PartyDirector, PartyApprovers}

// UserParty returns the party naming one user.
func UserParty(id string) Party { return Party(userPrefix + id) }

// check reports why p is not a party, or nil.
func (p Party) check() error {
	if id, ok := strings.CutPrefix(string(p), userPrefix); ok {
		if strings.TrimSpace(id) == "" {
			return fmt.Errorf("%q names no user: write user:<id>", p)
		}
		return nil
	}
	if !slices.Contains(roleParties, p) {
		return fmt.Errorf("unknown party %q: use owner, pmo, commercial, solution, director, approvers or user:<id>", problem.Clip(string(p)))
	}
	return nil
}

// check records a problem for every team member id that is not a one-line
// id, and for too many approvers.
func (t Team) check(ps *problems) {
	for _, m := range []struct{ field, id string }{
		{"team.pmo", t.PMO}, {"team.commercial", t.Commercial}, {"team.solution", t.Solution}, {"team.director", t.Director},
	} {
		if m.id != "" {
			checkUser(ps, m.field, m.id)
		}
	}
	ps.Count("team.approvers", len(t.Approvers), MaxApprovers)
	for i, id := range first(t.Approvers, MaxApprovers) {
		if strings.TrimSpace(id) == "" {
			ps.Add(fmt.Sprintf("team.approvers[%d]", i), "an approver id cannot be empty")
		} else {
			checkUser(ps, fmt.Sprintf("team.approvers[%d]", i), id)
		}
	}
}

// resolve returns the users p addresses on a deal with team t for a milestone
// owned by owner.
func (p Party) resolve(t Team, owner string) []string {
	if id, ok := strings.CutPrefix(string(p), userPrefix); ok {
		return []string{id}
	}
	var out []string
	switch p {
	case PartyOwner:
		out = []string{owner}
	case PartyPMO:
		out = []string{t.PMO}
	case PartyCommercial:
		out = []string{t.Commercial}
	case PartySolution:
		out = []string{t.Solution}
	case PartyDirector:
		out = []string{t.Director}
	case PartyApprovers:
		out = t.Approvers
	}
	return slices.DeleteFunc(slices.Clone(out), func(s string) bool { return s == "" })
}

// resolveAll resolves several parties into a deduplicated list of users.
func resolveAll(ps []Party, t Team, owner string) []string {
	var out []string
	for _, p := range ps {
		for _, u := range p.resolve(t, owner) {
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}
