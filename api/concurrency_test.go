package api_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"

	"dealflow/workflows/deal"
)

// approveAtOnce sends both approvals at the same instant and returns their
// statuses, sorted.
func (s *stack) approveAtOnce(id, key string, reviewers ...string) []int {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses []int
		gate     = make(chan struct{})
	)
	for _, r := range reviewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			status, _ := s.Call(r, "POST", "/v1/deals/"+id+"/milestones/"+key+"/review", map[string]any{"decision": "approve"})
			mu.Lock()
			statuses = append(statuses, status)
			mu.Unlock()
		}()
	}
	close(gate)
	wg.Wait()
	slices.Sort(statuses)
	return statuses
}

// TestConcurrentReviews: two reviewers approving at the same instant give
// one correct outcome. Under "any" the first approval completes the
// milestone and the second is refused (nothing left to review); under "all"
// both count and the milestone is done once.
func TestConcurrentReviews(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	s.User("abe", "approver")
	team := map[string]any{"pmo": "pat", "commercial": "cora", "solution": "sol", "approvers": []string{"ann", "abe"}, "director": "dina"}

	for _, c := range []struct {
		template, key string
		before        [][2]string // (who, milestone) submitted first
		want          []int
		votes         int
	}{
		{"project", "solution-design", [][2]string{{"cora", "prospect"}, {"cora", "needs-analysis"}, {"sol", "solution-design"}},
			[]int{http.StatusOK, http.StatusConflict}, 1},
		{"solution", "business-case", [][2]string{{"cora", "discovery"}, {"sol", "proof-of-concept"}, {"cora", "stakeholder-map"}, {"sol", "business-case"}},
			[]int{http.StatusOK, http.StatusOK}, 2},
	} {
		{ // the stack reports through the parent test, so no subtests
			id := "race-" + c.template
			s.Must("pat", "POST", "/v1/deals", map[string]any{"id": id, "name": id, "customer": "Soylent", "template": c.template, "team": team}, http.StatusCreated, nil)
			for _, step := range c.before {
				s.Submit(step[0], id, step[1])
			}
			if got := s.approveAtOnce(id, c.key, "ann", "abe"); !slices.Equal(got, c.want) {
				t.Errorf("%s: statuses %v, want %v", c.template, got, c.want)
			}
			d := s.Deal("root", id)
			m := d.Milestone(c.key)
			if m.State != deal.StateDone || len(m.Reviews) != c.votes {
				t.Errorf("%s is %s with %d votes, want done with %d", c.key, m.State, len(m.Reviews), c.votes)
			}
			events := s.Projected(id)
			done := 0
			for _, e := range s.Events(id) {
				if e.Kind == deal.EventMilestoneDone && e.Milestone == c.key {
					done++
				}
			}
			if done != 1 || events.Milestone(c.key).State != deal.StateDone {
				t.Errorf("milestone_done recorded %d times", done)
			}
		}
	}
}
