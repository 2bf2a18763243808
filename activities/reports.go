package activities

import (
	"context"
	"log/slog"

	"dealflow/activities/store"
)

// Reports are the activities of the two scheduled paradigms: the funnel
// report (probability paradigm) and the coverage report (behaviour
// paradigm). They compute their figures in SQL inside Postgres, store a
// report row and queue notifications for whoever is behind target.
type Reports struct {
	Store  *store.Store
	Logger *slog.Logger
}

// QueueNotices puts a report's notices in the outbox; the worker's relay
// delivers them. Queueing the same notice twice sends it once.
func (r *Reports) QueueNotices(ctx context.Context, notices []store.Notice) error {
	return permanentIfInvalid(r.Store.QueueNotices(ctx, notices))
}
