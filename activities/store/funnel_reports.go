package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"dealflow/workflows/funnel"
)

const (
	sqlGetFunnelReport = `SELECT ` + sqlFunnelReportColumns + ` FROM funnel_reports WHERE id = $1`
	// Newest first; $1 '' means every target, $2 0 means from the newest.
	sqlListFunnelReports = `SELECT ` + sqlFunnelReportColumns + ` FROM funnel_reports
WHERE ($1 = '' OR target_id = $1) AND ($2 = 0 OR id < $2)
ORDER BY id DESC LIMIT $3`
)

// GetFunnelReport returns a report, or ErrNotFound.
func (s *Store) GetFunnelReport(ctx context.Context, id int64) (*funnel.Report, error) {
	var r funnelReportRow
	if err := s.db.QueryRowxContext(ctx, sqlGetFunnelReport, id).StructScan(&r); err != nil {
		return nil, mapErr(err, "funnel report "+strconv.FormatInt(id, 10))
	}
	return r.report()
}

// ListFunnelReports returns up to limit reports, newest first: of one
// target (or of all when targetID is ""), older than the report before
// (or from the newest when before is 0).
func (s *Store) ListFunnelReports(ctx context.Context, targetID string, before int64, limit int) ([]funnel.Report, error) {
	if limit <= 0 || limit > MaxReportPage {
		return nil, inputErr("limit", "must be 1 to %d, not %d", MaxReportPage, limit)
	}
	var rows []funnelReportRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlListFunnelReports, targetID, before, limit); err != nil {
		return nil, fmt.Errorf("store: listing funnel reports: %w", err)
	}
	return fromRows(rows, funnelReportRow.report)
}
