package deal

import "time"

// Metrics are figures derived from a deal's state: exact, because every
// transition is recorded with its instant.
type Metrics struct {
	Milestones []MilestoneMetrics `json:"milestones"`
	Roles      []RoleMetrics      `json:"roles"`
	// ReworkRounds counts rejections across the deal.
	ReworkRounds int `json:"rework_rounds"`
	// Reviewed counts done milestones that passed a review gate; FirstPass
	// those approved in their first round.
	Reviewed      int      `json:"reviewed"`
	FirstPass     int      `json:"first_pass"`
	FirstPassRate float64  `json:"first_pass_rate"`
	Late          []string `json:"late,omitempty"`
}

// MilestoneMetrics are one milestone's figures. CycleTime runs from
// activation to done (or to now while open); Late is how far past due it
// finished (or is, while open).
type MilestoneMetrics struct {
	Key       string   `json:"key"`
	Role      Role     `json:"role"`
	CycleTime Duration `json:"cycle_time"`
	Rounds    int      `json:"rounds"`
	FirstPass bool     `json:"first_pass"`
	Late      Duration `json:"late"`
}

// RoleMetrics sum the done milestones of one role.
type RoleMetrics struct {
	Role           Role     `json:"role"`
	Done           int      `json:"done"`
	TotalCycleTime Duration `json:"total_cycle_time"`
	MeanCycleTime  Duration `json:"mean_cycle_time"`
}

// ComputeMetrics derives the metrics of d at now.
func ComputeMetrics(d *Deal, now time.Time) Metrics {
	mt := Metrics{Milestones: []MilestoneMetrics{}, Roles: make([]RoleMetrics, len(Roles))}
	for i, r := range Roles {
		mt.Roles[i].Role = r
	}
	for _, m := range d.Milestones {
		if m.State == StateBlocked || m.State == StateSkipped {
			continue
		}
		end := now
		if m.State == StateDone {
			end = m.DoneAt
		}
		mm := MilestoneMetrics{Key: m.Key, Role: m.Role, CycleTime: Duration(end.Sub(m.ActivatedAt)), Rounds: m.Round}
		if late := end.Sub(m.DueAt); late > 0 {
			mm.Late = Duration(late)
			mt.Late = append(mt.Late, m.Key)
		}
		mt.ReworkRounds += m.Round - 1
		if m.State == StateDone {
			if m.Review != nil {
				mt.Reviewed++
				if m.Round == 1 {
					mm.FirstPass = true
					mt.FirstPass++
				}
			}
			for i := range mt.Roles {
				if mt.Roles[i].Role == m.Role {
					mt.Roles[i].Done++
					mt.Roles[i].TotalCycleTime += mm.CycleTime
				}
			}
		}
		mt.Milestones = append(mt.Milestones, mm)
	}
	for i := range mt.Roles {
		if r := &mt.Roles[i]; r.Done > 0 {
			r.MeanCycleTime = r.TotalCycleTime / Duration(r.Done)
		}
	}
	if mt.Reviewed > 0 {
		mt.FirstPassRate = float64(mt.FirstPass) / float64(mt.Reviewed)
	}
	return mt
}
