package store

import (
	"strconv"
	"time"

	"dealflow/workflows/deal"
)

// sqlCountDealReviews is the part of sqlRecordChange that copies a deal's
// solution submissions and review outcomes ($21) to every program listing
// the deal's customer ($22, by name, ignoring case). The id
// 'deal/<deal>/<seq>' makes recording the same deal event again a no-op,
// and the solution is '<deal>/<milestone>'.
const sqlCountDealReviews = `
reviews AS (
	INSERT INTO coverage_events (program_id, id, account_id, kind, actor, at, solution, round, result,
		note, source, deal_id, deal_seq)
	SELECT a.program_id, 'deal/' || $1 || '/' || r.seq, a.id, r.kind, r.actor, r.at,
		$1 || '/' || r.milestone, r.round, r.result, r.note, 'deal', $1, r.seq
	FROM jsonb_to_recordset($21::jsonb) AS r (seq bigint, kind text, actor text, at timestamptz,
		milestone text, round integer, result text, note text)
	JOIN coverage_accounts a ON lower(a.name) = lower($22)
	WHERE $22 <> '' AND NOT EXISTS (SELECT FROM blocked)
	ON CONFLICT (program_id, id) DO NOTHING
)`

// reviewRow is one presales event a deal event stands for, as JSON.
type reviewRow struct {
	Seq       int64     `json:"seq"`
	Kind      string    `json:"kind"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
	Milestone string    `json:"milestone"`
	Round     int       `json:"round"`
	Result    string    `json:"result"`
	Note      string    `json:"note"`
}

// reviewRows makes reviews in project deals count for the presales team of
// any program whose account list names the deal's customer. They are
// written by RecordChange's one statement, so the deal's audit trail and the
// programs' events never disagree, and a retried change adds nothing twice.
// Only solution milestones with a review gate count: their submission, each
// rejected round, and the approval that completes them. Single approvals
// (review_approved) are not outcomes, since under policy "all" the round can
// still be rejected by another reviewer; milestone_done is the approved
// outcome.
func reviewRows(d *deal.Deal, events []deal.Event) []reviewRow {
	rows := []reviewRow{}
	for _, e := range events {
		kind, result, ok := solutionEventOf(d, e)
		if !ok {
			continue
		}
		round, err := strconv.Atoi(e.Data["round"])
		if err != nil || round < 1 {
			round = 1
		}
		rows = append(rows, reviewRow{Seq: e.Seq, Kind: string(kind), Actor: e.Actor, At: e.At,
			Milestone: e.Milestone, Round: round, Result: result, Note: e.Message})
	}
	return rows
}

// solutionEventOf maps a deal event to the presales event it stands for.
func solutionEventOf(d *deal.Deal, e deal.Event) (kind CoverageEventKind, result string, ok bool) {
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
