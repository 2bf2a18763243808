package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/plan"
)

// sqlInsertDealReviews copies a deal's solution submissions and review
// outcomes to every program listing the deal's customer (by name, ignoring
// case). The id 'deal/<deal>/<seq>' makes recording the same deal event
// again a no-op, and the solution is '<deal>/<milestone>'.
const sqlInsertDealReviews = `
INSERT INTO coverage_events (program_id, id, account_id, kind, actor, at, solution, round, result, note,
	source, deal_id, deal_seq)
SELECT a.program_id, 'deal/' || $1 || '/' || e.seq, a.id, e.kind, e.actor, e.at, $1 || '/' || e.milestone,
	e.round, e.result, e.note, 'deal', $1, e.seq
FROM coverage_accounts a,
	unnest($3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::int[], $9::text[], $10::text[])
		AS e (seq, kind, actor, at, milestone, round, result, note)
WHERE lower(a.name) = lower($2)
ON CONFLICT (program_id, id) DO NOTHING`

// recordProgramReviews makes reviews in project deals count for the
// presales team of any program whose account list names the deal's
// customer. It runs inside RecordChange's transaction, so the deal's audit
// trail and the programs' events never disagree, and a retried change adds
// nothing twice. Only solution milestones with a review gate count: their
// submission, each rejected round, and the approval that completes them.
// Single approvals (review_approved) are not outcomes, since under policy
// "all" the round can still be rejected by another reviewer; milestone_done
// is the approved outcome.
func recordProgramReviews(ctx context.Context, q sqlx.ExtContext, d *plan.Deal, events []plan.Event) error {
	var (
		seqs, rounds                              pq.Int64Array
		kinds, actors, milestones, results, notes pq.StringArray
		ats                                       []time.Time
	)
	for _, e := range events {
		kind, result, ok := solutionEventOf(d, e)
		if !ok {
			continue
		}
		round, err := strconv.Atoi(e.Data["round"])
		if err != nil || round < 1 {
			round = 1
		}
		seqs, rounds = append(seqs, e.Seq), append(rounds, int64(round))
		kinds, actors, milestones = append(kinds, string(kind)), append(actors, e.Actor), append(milestones, e.Milestone)
		results, notes, ats = append(results, result), append(notes, e.Message), append(ats, e.At)
	}
	if len(seqs) == 0 || strings.TrimSpace(d.Customer) == "" {
		return nil // most changes hold no review: no query at all
	}
	_, err := q.ExecContext(ctx, sqlInsertDealReviews, d.ID, strings.TrimSpace(d.Customer),
		seqs, kinds, actors, pq.Array(ats), milestones, rounds, results, notes)
	return err
}

// solutionEventOf maps a deal event to the presales event it stands for.
func solutionEventOf(d *plan.Deal, e plan.Event) (kind CoverageEventKind, result string, ok bool) {
	m := d.Milestone(e.Milestone)
	if m == nil || m.Review == nil || m.Role != plan.RoleSolution {
		return "", "", false
	}
	switch e.Kind {
	case plan.EventMilestoneSubmitted:
		return EventSolutionSubmitted, "", true
	case plan.EventReviewRejected:
		return EventSolutionReviewed, ReviewRejected, true
	case plan.EventMilestoneDone:
		return EventSolutionReviewed, ReviewApproved, true
	}
	return "", "", false
}
