package store

// sqlCountDealReviews is the part of sqlRecordChange that copies a deal's
// solution submissions and review outcomes ($21) to every program listing
// the deal's customer ($22, by name, ignoring case). The id
// 'deal/<deal>/<seq>' makes recording the same deal event again a no-op,
// and the solution is '<deal>/<milestone>'. The rows are
// coverage.DealReviews of the change's events, as JSON: written by
// RecordChange's one statement, the deal's audit trail and the programs'
// events never disagree, and a retried change adds nothing twice.
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
