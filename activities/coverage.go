package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
)

// CoverageReportRequest asks for one program's coverage report as of AsOf,
// stored under RunKey: the report workflow's ID and run ID, so that a
// retried activity finds the report its first attempt stored.
type CoverageReportRequest struct {
	ProgramID string    `json:"program_id"`
	RunKey    string    `json:"run_key"`
	Trigger   string    `json:"trigger"`
	AsOf      time.Time `json:"as_of"`
}

// ProgramNotFoundType is the application-error type of a report for a
// program that no longer exists (deleted while its schedule fired);
// retrying cannot help.
const ProgramNotFoundType = "ProgramNotFound"

// ComputeCoverageReport computes and stores a program's coverage report.
// The figures are computed by Postgres in one statement (see
// store.ComputeCoverageReport); the report comes back with the team leads
// to tell.
func (r *Reports) ComputeCoverageReport(ctx context.Context, req CoverageReportRequest) (*coverage.Report, error) {
	rep, err := r.Store.ComputeCoverageReport(ctx, req.ProgramID, req.RunKey, req.Trigger, req.AsOf)
	if errors.Is(err, store.ErrNotFound) {
		return nil, temporal.NewNonRetryableApplicationError("coverage program "+req.ProgramID+" does not exist", ProgramNotFoundType, err)
	}
	if err != nil {
		return nil, permanentIfInvalid(err)
	}
	if r.Logger != nil {
		r.Logger.InfoContext(ctx, "coverage report stored", "program", req.ProgramID, "report", rep.ID,
			"accounts", rep.Counts.Accounts, "untouched", rep.Untouched.Total, "trigger", req.Trigger)
	}
	return rep, nil
}
