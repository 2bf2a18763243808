package deal

import (
	"reflect"
	"testing"
)

// TestMetrics drives a project deal through known instants (days after t0):
//
//	security-review  added at 0, due 5d; submitted 6d, approved 6d12h (first pass, 1d12h late)
//	prospect         active 0, due 7d; done 3d
//	needs-analysis   active 3d, due 17d; done 20d (3d late)
//	solution-design  active 20d, due 34d; submitted 25d, rejected 26d, resubmitted 28d, approved 29d
//	solution-submission active 29d, due 36d; done 30d
//	quotation        active 30d, due 44d; still open at 46d (2d late so far)
//	contract         blocked
func TestMetrics(t *testing.T) {
	d := projectDeal(t)
	security := PlanOp{Op: OpAdd, Milestone: &MilestoneSpec{Key: "security-review", Title: "Security review", Role: RoleSolution,
		Due: Due{After: dur("5d")}, Review: &ReviewGate{Reviewers: []Party{PartyApprovers}}}}
	mustApply(t, d, changePlan("pat", security), t0)
	complete(t, d, "prospect", at("3d"))
	mustApply(t, d, submission(d, "security-review", "sol"), at("6d"))
	mustApply(t, d, approve("security-review", "ann"), at("6d12h"))
	complete(t, d, "needs-analysis", at("20d"))
	mustApply(t, d, submission(d, "solution-design", "sol"), at("25d"))
	mustApply(t, d, reject("solution-design", "ann", "no delivery plan"), at("26d"))
	mustApply(t, d, submission(d, "solution-design", "sol"), at("28d"))
	mustApply(t, d, approve("solution-design", "abe"), at("29d"))
	complete(t, d, "solution-submission", at("30d"))

	want := Metrics{
		Milestones: []MilestoneMetrics{
			{Key: "prospect", Role: RoleCommercial, CycleTime: dur("3d"), Rounds: 1},
			{Key: "needs-analysis", Role: RoleCommercial, CycleTime: dur("17d"), Rounds: 1, Late: dur("3d")},
			{Key: "solution-design", Role: RoleSolution, CycleTime: dur("9d"), Rounds: 2},
			{Key: "solution-submission", Role: RoleSolution, CycleTime: dur("1d"), Rounds: 1},
			{Key: "quotation", Role: RoleCommercial, CycleTime: dur("16d"), Rounds: 1, Late: dur("2d")},
			{Key: "security-review", Role: RoleSolution, CycleTime: dur("6d12h"), Rounds: 1, FirstPass: true, Late: dur("1d12h")},
		},
		Roles: []RoleMetrics{
			{Role: RolePMO},
			// 3d + 17d over 2 milestones
			{Role: RoleCommercial, Done: 2, TotalCycleTime: dur("20d"), MeanCycleTime: dur("10d")},
			// 9d + 1d + 6d12h over 3 milestones
			{Role: RoleSolution, Done: 3, TotalCycleTime: dur("16d12h"), MeanCycleTime: dur("5d12h")},
		},
		ReworkRounds:  1,   // solution-design's rejection
		Reviewed:      2,   // solution-design and security-review
		FirstPass:     1,   // security-review
		FirstPassRate: 0.5, // 1 of 2
		Late:          []string{"needs-analysis", "quotation", "security-review"},
	}
	if got := ComputeMetrics(d, at("46d")); !reflect.DeepEqual(got, want) {
		t.Errorf("metrics at t0+46d:\n got %+v\nwant %+v", got, want)
	}

	// The deal's own metrics are as of its last change (t0+30d): quotation
	// has just started and nothing open is late.
	want.Milestones[4].CycleTime, want.Milestones[4].Late = 0, 0
	want.Late = []string{"needs-analysis", "security-review"}
	if !reflect.DeepEqual(d.Metrics, want) {
		t.Errorf("deal metrics at t0+30d:\n got %+v\nwant %+v", d.Metrics, want)
	}
}

func TestMetricsEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		deal   func(t *testing.T) *Deal
		now    string
		rework int
		rate   float64
		keys   []string
	}{
		{"fresh deal: only the active milestone", projectDeal, "1d", 0, 0, []string{"prospect"}},
		{"skipped milestones are left out", func(t *testing.T) *Deal {
			d := projectDeal(t)
			mustApply(t, d, changePlan("pat", PlanOp{Op: OpSkip, Key: "prospect", Reason: "known"}), at("1d"))
			return d
		}, "2d", 0, 0, []string{"needs-analysis"}},
		{"rework on an open milestone counts", func(t *testing.T) *Deal {
			d := projectDeal(t)
			toDesign(t, d)
			mustApply(t, d, submission(d, "solution-design", "sol"), at("3d"))
			mustApply(t, d, reject("solution-design", "ann", "redo"), at("4d"))
			mustApply(t, d, submission(d, "solution-design", "sol"), at("5d"))
			mustApply(t, d, reject("solution-design", "abe", "redo again"), at("6d"))
			return d
		}, "7d", 2, 0, []string{"prospect", "needs-analysis", "solution-design"}},
		{"second-round pass", func(t *testing.T) *Deal {
			d := projectDeal(t)
			toDesign(t, d)
			mustApply(t, d, submission(d, "solution-design", "sol"), at("3d"))
			mustApply(t, d, reject("solution-design", "ann", "redo"), at("4d"))
			complete(t, d, "solution-design", at("5d"))
			return d
		}, "7d", 1, 0, []string{"prospect", "needs-analysis", "solution-design", "solution-submission"}},
		{"first-round pass", func(t *testing.T) *Deal {
			d := projectDeal(t)
			toDesign(t, d)
			complete(t, d, "solution-design", at("5d"))
			return d
		}, "7d", 0, 1, []string{"prospect", "needs-analysis", "solution-design", "solution-submission"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ComputeMetrics(tt.deal(t), at(tt.now))
			var keys []string
			for _, mm := range m.Milestones {
				keys = append(keys, mm.Key)
			}
			if m.ReworkRounds != tt.rework || m.FirstPassRate != tt.rate || !reflect.DeepEqual(keys, tt.keys) {
				t.Errorf("rework %d rate %v keys %v, want %d %v %v", m.ReworkRounds, m.FirstPassRate, keys, tt.rework, tt.rate, tt.keys)
			}
			if len(m.Roles) != 3 {
				t.Errorf("roles %+v", m.Roles)
			}
		})
	}
}
