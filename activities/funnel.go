package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"dealflow/activities/store"
	"dealflow/workflows/funnel"
)

// FunnelTargetNotFoundType is the application-error type of a report for a
// funnel target that no longer exists (deleted while its schedule fired);
// retrying cannot help.
const FunnelTargetNotFoundType = "FunnelTargetNotFound"

// ComputeFunnelReport computes and stores a target's funnel report. The
// figures are computed by Postgres in one statement (see
// store.ComputeFunnelReport); the request's run key makes a retry return
// the report the first attempt stored.
func (r *Reports) ComputeFunnelReport(ctx context.Context, req store.FunnelReportRequest) (*funnel.Report, error) {
	rep, err := r.Store.ComputeFunnelReport(ctx, req)
	if errors.Is(err, store.ErrNotFound) {
		return nil, temporal.NewNonRetryableApplicationError("funnel target "+req.TargetID+" does not exist", FunnelTargetNotFoundType, err)
	}
	if err != nil {
		return nil, permanentIfInvalid(err)
	}
	if r.Logger != nil {
		r.Logger.InfoContext(ctx, "funnel report stored", "target", req.TargetID, "report", rep.ID,
			"activities", rep.Activities, "reps_below_pace", rep.RepsBelowPace, "trigger", req.Trigger)
	}
	return rep, nil
}
