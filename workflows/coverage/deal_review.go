package coverage

import (
	"strconv"
	"time"

	"dealflow/workflows/deal"
)

// DealReview is one presales event a project deal's event stands for. The
// store writes it with the deal's change, to every program whose account
// list names the deal's customer, under id 'deal/<deal>/<Seq>' and solution
// '<deal>/<Milestone>'.
type DealReview struct {
	Seq       int64     `json:"seq"`
	Kind      EventKind `json:"kind"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
	Milestone string    `json:"milestone"`
	Round     int       `json:"round"`
	Result    string    `json:"result"`
	Note      string    `json:"note"`
}

// DealReviews makes reviews in project deals count for the presales team
// of any program whose account list names the deal's customer. Only
// solution milestones with a review gate count: their submission, each
// rejected round, and the approval that completes them. Single approvals
// (review_approved) are not outcomes, since under policy "all" the round
// can still be rejected by another reviewer; milestone_done is the approved
// outcome.
func DealReviews(d *deal.Deal, events []deal.Event) []DealReview {
	rows := []DealReview{}
	for _, e := range events {
		kind, result, ok := solutionEventOf(d, e)
		if !ok {
			continue
		}
		round, err := strconv.Atoi(e.Data["round"])
		if err != nil || round < 1 {
			round = 1
		}
		rows = append(rows, DealReview{Seq: e.Seq, Kind: kind, Actor: e.Actor, At: e.At,
			Milestone: e.Milestone, Round: round, Result: result, Note: e.Message})
	}
	return rows
}

// solutionEventOf maps a deal event to the presales event it stands for.
func solutionEventOf(d *deal.Deal, e deal.Event) (kind EventKind, result string, ok bool) {
	m := d.Milestone(e.Milestone)
	if m == nil || m.Review == nil || m.Role != deal.RoleSolution {
		return "", "", false
	}
	switch e.Kind {
	case deal.EventMilestoneSubmitted:
		return EventSolutionSubmitted, "", true
	case deal.EventReviewRejected:
		return EventSolutionReviewed, ReviewRejected, true
	case deal.EventMilestoneDone:
		return EventSolutionReviewed, ReviewApproved, true
	}
	return "", "", false
}
