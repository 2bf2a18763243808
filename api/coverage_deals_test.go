package api_test

import (
	"net/http"
	"testing"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
)

// TestDealReviewsCountInCoverage: a project deal whose customer is a named
// account of a program feeds that program's presales figures by itself: its
// solution design, rejected once and then approved, is one solution
// reviewed and not a first pass; a second deal approved at once is.
func TestDealReviewsCountInCoverage(t *testing.T) {
	s := newStack(t)
	s.coverageUsers()
	for _, u := range []struct{ id, role string }{{"cora", "commercial"}, {"sol", "solution"}, {"ann", "approver"}, {"dina", "director"}} {
		s.User(u.id, store.Role(u.role))
	}
	s.Must("pat", "POST", "/v1/coverage/programs", programBody("east"), http.StatusCreated, nil)
	s.postCSV("pat", "/v1/coverage/programs/east/accounts", "id,name,industry,region\nini,INITECH,software,east\nglo,Globex,energy,west\n", http.StatusOK, nil)

	reviewed := func(id string, decisions ...string) {
		s.teamDeal(id) // customer Initech
		s.Submit("cora", id, "prospect")
		s.Submit("cora", id, "needs-analysis")
		for _, d := range decisions {
			s.Submit("sol", id, "solution-design")
			s.Act("ann", id, "/milestones/solution-design/review", map[string]any{"decision": d, "comment": "price the integration separately"})
		}
	}
	reviewed("ini-erp", "reject", "approve")
	reviewed("ini-crm", "approve")

	var rep coverage.Report
	s.Must("pat", "POST", "/v1/coverage/programs/east/run", nil, http.StatusCreated, &rep)
	c := rep.Counts
	if c.SolutionsSubmitted != 2 || c.SolutionsReviewed != 2 || c.SolutionsFirstPass != 1 || rep.Rates.FirstPassRate == nil || *rep.Rates.FirstPassRate != 0.5 {
		t.Errorf("presales counts %+v, first pass %v; want 2 reviewed, 1 on the first pass", c, rep.Rates.FirstPassRate)
	}
	if n := s.Count(`SELECT count(*) FROM coverage_events WHERE source = 'deal' AND account_id = 'ini'`); n != 6 {
		t.Errorf("%d deal events on Initech, want 6 (3 submissions, 1 rejection, 2 approvals)", n)
	}
}
