package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/funnel"
)

// FunnelReportRequest asks for one report. RunKey identifies the workflow
// run that asks: asking again with the same key returns the report already
// stored, so a retried activity never stores two.
type FunnelReportRequest struct {
	TargetID string    `json:"target_id"`
	RunKey   string    `json:"run_key"`
	Trigger  string    `json:"trigger"`
	AsOf     time.Time `json:"as_of"`
}

const sqlFunnelReportColumns = `id, target_id, run_key, trigger, as_of, created_at,
	window_start, window_end, through_date, working_days, working_days_elapsed, working_days_left,
	target_name, manager, period_start, period_end, revenue_target, avg_deal_size, conversion_rate, leads_per_activity, rep_count,
	activities, calls, visits, demos, leads, qualified, conversions, revenue,
	leads_needed, activities_needed, activities_per_day_needed, rep_activities_per_day_needed,
	activities_per_day, activities_per_day_to_close, conversion_rate_actual,
	revenue_gap, leads_gap, projected_revenue, projected_gap, reps_below_pace, reps`

// sqlComputeFunnelReport counts and derives everything in one statement and
// stores it. Its needs (the need CTE) are funnel.Target.Plan's formulas,
// which TestFunnelReportNeedsArePlan holds it to. Parameters: $1 target id, $2 and $3 the window [start, end),
// $4 the reps, $5 working days in the period, $6 elapsed, $7 left, $8 run
// key, $9 trigger, $10 as of, $11 the last day counted (or NULL).
//
// Each count is one aggregate over an index on (rep, time): the activities
// by rep and kind, and the leads created, qualified and converted (with
// their amounts) in the window. Figures that would divide by zero are NULL.
const sqlComputeFunnelReport = `
WITH t AS (
	SELECT * FROM funnel_targets WHERE id = $1
), k AS (
	SELECT $5::int AS days, $6::int AS elapsed, $7::int AS days_left
), acts AS (
	SELECT rep, count(*) AS activities,
		count(*) FILTER (WHERE kind = 'call') AS calls,
		count(*) FILTER (WHERE kind = 'visit') AS visits,
		count(*) FILTER (WHERE kind = 'demo') AS demos
	FROM funnel_activities
	WHERE rep = ANY ($4::text[]) AND at >= $2::timestamptz AND at < $3::timestamptz
	GROUP BY rep
), created AS (
	SELECT rep, count(*) AS n FROM funnel_leads
	WHERE rep = ANY ($4::text[]) AND created_at >= $2::timestamptz AND created_at < $3::timestamptz
	GROUP BY rep
), qualified AS (
	SELECT rep, count(*) AS n FROM funnel_leads
	WHERE rep = ANY ($4::text[]) AND qualified_at >= $2::timestamptz AND qualified_at < $3::timestamptz
	GROUP BY rep
), converted AS (
	SELECT rep, count(*) AS n, sum(amount) AS revenue FROM funnel_leads
	WHERE rep = ANY ($4::text[]) AND converted_at >= $2::timestamptz AND converted_at < $3::timestamptz
	GROUP BY rep
), per_rep AS (
	SELECT r.rep, r.pos,
		coalesce(a.activities, 0) AS activities, coalesce(a.calls, 0) AS calls,
		coalesce(a.visits, 0) AS visits, coalesce(a.demos, 0) AS demos,
		coalesce(c.n, 0) AS leads, coalesce(q.n, 0) AS qualified,
		coalesce(v.n, 0) AS conversions, coalesce(v.revenue, 0) AS revenue
	FROM unnest($4::text[]) WITH ORDINALITY AS r (rep, pos)
	LEFT JOIN acts a USING (rep)
	LEFT JOIN created c USING (rep)
	LEFT JOIN qualified q USING (rep)
	LEFT JOIN converted v USING (rep)
), team AS (
	SELECT coalesce(sum(activities), 0)::bigint AS activities, coalesce(sum(calls), 0)::bigint AS calls,
		coalesce(sum(visits), 0)::bigint AS visits, coalesce(sum(demos), 0)::bigint AS demos,
		coalesce(sum(leads), 0)::bigint AS leads, coalesce(sum(qualified), 0)::bigint AS qualified,
		coalesce(sum(conversions), 0)::bigint AS conversions, coalesce(sum(revenue), 0) AS revenue
	FROM per_rep
), need AS (
	-- leads needed = revenue ÷ average deal size ÷ conversion rate, and so on.
	SELECT leads_needed, leads_needed / t.leads_per_activity AS activities_needed,
		leads_needed / t.leads_per_activity / k.days AS per_day,
		leads_needed / t.leads_per_activity / k.days / cardinality(t.reps) AS rep_per_day
	FROM t, k, LATERAL (SELECT t.revenue_target::float8 / t.avg_deal_size::float8 / t.conversion_rate AS leads_needed) l
), reps AS (
	SELECT p.*, p.activities::float8 / nullif(k.elapsed, 0) AS per_day,
		k.elapsed > 0 AND p.activities::float8 / nullif(k.elapsed, 0) < need.rep_per_day AS below_pace
	FROM per_rep p, k, need
)
INSERT INTO funnel_reports (target_id, run_key, trigger, as_of, window_start, window_end, through_date,
	working_days, working_days_elapsed, working_days_left,
	target_name, manager, period_start, period_end, revenue_target, avg_deal_size, conversion_rate, leads_per_activity, rep_count,
	activities, calls, visits, demos, leads, qualified, conversions, revenue,
	leads_needed, activities_needed, activities_per_day_needed, rep_activities_per_day_needed,
	activities_per_day, activities_per_day_to_close, conversion_rate_actual,
	revenue_gap, leads_gap, projected_revenue, projected_gap, reps_below_pace, reps)
SELECT t.id, $8, $9, $10, $2, $3, $11::date,
	k.days, k.elapsed, k.days_left,
	t.name, t.manager, t.period_start, t.period_end, t.revenue_target, t.avg_deal_size, t.conversion_rate, t.leads_per_activity, cardinality(t.reps),
	team.activities, team.calls, team.visits, team.demos, team.leads, team.qualified, team.conversions, team.revenue,
	need.leads_needed, need.activities_needed, need.per_day, need.rep_per_day,
	team.activities::float8 / nullif(k.elapsed, 0),
	greatest(need.activities_needed - team.activities, 0) / nullif(k.days_left, 0),
	team.conversions::float8 / nullif(team.leads, 0),
	t.revenue_target::float8 - team.revenue::float8,
	need.leads_needed - team.leads,
	team.revenue::float8 / nullif(k.elapsed, 0) * k.days,
	t.revenue_target::float8 - team.revenue::float8 / nullif(k.elapsed, 0) * k.days,
	(SELECT count(*) FROM reps WHERE below_pace),
	(SELECT coalesce(jsonb_agg(jsonb_build_object(
		'rep', rep,
		'counts', jsonb_build_object('activities', activities, 'calls', calls, 'visits', visits, 'demos', demos,
			'leads', leads, 'qualified', qualified, 'conversions', conversions, 'revenue', revenue),
		'activities_per_day', per_day,
		'below_pace', below_pace) ORDER BY pos), '[]') FROM reps)
FROM t, k, team, need
ON CONFLICT (run_key) DO NOTHING
RETURNING ` + sqlFunnelReportColumns

const sqlFunnelReportByRunKey = `SELECT ` + sqlFunnelReportColumns + ` FROM funnel_reports WHERE run_key = $1`

// ComputeFunnelReport computes and stores the report req asks for, in one
// transaction, or returns the one already stored under req.RunKey. A
// target that does not exist returns ErrNotFound.
func (s *Store) ComputeFunnelReport(ctx context.Context, req FunnelReportRequest) (*funnel.Report, error) {
	if req.TargetID == "" || req.RunKey == "" || req.AsOf.IsZero() {
		return nil, fmt.Errorf("store: a funnel report needs a target, a run key and a time: %w", ErrInvalidChange)
	}
	var out *funnel.Report
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := funnelReportByRunKey(ctx, tx, req.RunKey)
		if err == nil || !errors.Is(err, ErrNotFound) {
			out = r
			return err
		}
		t, err := getFunnelTarget(ctx, tx, sqlGetFunnelTargetForShare, req.TargetID)
		if err != nil {
			return err
		}
		w, err := t.Window(req.AsOf)
		if err != nil {
			return err
		}
		var row funnelReportRow
		err = tx.QueryRowxContext(ctx, sqlComputeFunnelReport, t.ID, w.Start, w.End, pq.StringArray(t.Reps),
			w.WorkingDays, w.Elapsed, w.Left, req.RunKey, req.Trigger, req.AsOf, dateArg(w.Through)).StructScan(&row)
		if errors.Is(err, sql.ErrNoRows) {
			// Another attempt with the same key stored it meanwhile.
			out, err = funnelReportByRunKey(ctx, tx, req.RunKey)
			return err
		}
		if err != nil {
			return fmt.Errorf("store: computing funnel report for %s: %w", t.ID, err)
		}
		out, err = row.report()
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func funnelReportByRunKey(ctx context.Context, q sqlx.QueryerContext, key string) (*funnel.Report, error) {
	var r funnelReportRow
	if err := q.QueryRowxContext(ctx, sqlFunnelReportByRunKey, key).StructScan(&r); err != nil {
		return nil, mapErr(err, "funnel report "+key)
	}
	return r.report()
}
