package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dealflow/activities"
	"dealflow/workflows/deal"
)

// DealWorkflow runs one project-type deal from start to close. Human actions
// arrive as updates, each checked by a validator before it enters history;
// one timer waits for the earliest pending deadline; every change is
// recorded (projection, audit trail, notifications) in one transaction, by an
// activity that runs in the background (see record).
func DealWorkflow(ctx workflow.Context, in DealInput) (*deal.Deal, error) {
	r, err := newDealRun(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := r.registerHandlers(ctx); err != nil {
		return nil, err
	}
	return r.run(ctx)
}

// dealRun is the state of one workflow run: the deal itself plus what the
// run needs to wire it to Temporal.
type dealRun struct {
	deal *deal.Deal
	// pending holds events not yet recorded; the snapshot changed since the
	// last recording exactly when there are some (every change emits events).
	pending []deal.Event
	// updates are recently applied update IDs (see Carried.Updates).
	updates []string
	// searched is what the search attributes were last set to (runs before
	// versionStartAttributes; later ones read them back).
	searched *searchState
	// version is this run's recording version (see recordingChange).
	version workflow.Version
	// behind is the last recording's result when it said the deal's
	// changes are parked in the store (versionParkedRetry); nil otherwise.
	behind *activities.RecordResult
	// retryWait is the wait before the next retry of a parked recording.
	retryWait time.Duration
	logger    log.Logger
}

// maxUnrecordedEvents and maxUnrecordedBytes bound the events a deal holds
// unrecorded (while a recording is slow or retrying, Postgres down, say):
// past either, validators refuse new actions, so the workflow's state, which
// travels in continue-as-new, and the next recording's input stay far below
// Temporal's payload limits: a deal (deal.MaxStateBytes, 256 KiB), this
// backlog (256 KiB) and one more action's events (deal.MaxEventBytes,
// 128 KiB) come to well under 1 MB, against the 2 MB Temporal refuses.
// Validators do not run on replay, so the bounds need no version.
// (Variables for tests.)
var (
	maxUnrecordedEvents = 500
	maxUnrecordedBytes  = 256 << 10
)

// recordBehind reports whether the unrecorded backlog is past its bounds.
func (r *dealRun) recordBehind() bool {
	if len(r.pending) >= maxUnrecordedEvents {
		return true
	}
	if len(r.pending) == 0 {
		return false
	}
	b, err := json.Marshal(r.pending)
	return err != nil || len(b) >= maxUnrecordedBytes
}

// errRecordBehind is the refusal past maxUnrecordedEvents.
func errRecordBehind(n int) error {
	return &deal.ActionError{Code: deal.CodeConflict,
		Message: fmt.Sprintf("the deal's record is behind (%d events not yet recorded); retry in a few minutes", n)}
}

// maxRememberedUpdates bounds the update IDs carried across runs: enough to
// cover any client's retry window, small enough to keep the input light.
const maxRememberedUpdates = 256

func newDealRun(ctx workflow.Context, in DealInput) (*dealRun, error) {
	r := &dealRun{logger: workflow.GetLogger(ctx)}
	switch {
	case in.Resume != nil:
		// Changes the previous run had not recorded yet are recorded first.
		r.deal, r.updates, r.pending = &in.Resume.Deal, in.Resume.Updates, in.Resume.Pending
		r.behind = in.Resume.Behind
	case in.Spec != nil:
		// A deal starts when its starter says, so the starter can answer
		// with the same initial state (see StartDeal).
		startedAt := in.StartedAt
		if startedAt.IsZero() {
			startedAt = workflow.Now(ctx)
		}
		d, evs, err := deal.NewDeal(*in.Spec, startedAt)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError("invalid deal: "+err.Error(), ActionErrorType+string(deal.CodeInvalid), err)
		}
		r.deal = d
		r.commit(evs)
	default:
		return nil, temporal.NewNonRetryableApplicationError("deal input has neither spec nor resume", ActionErrorType+string(deal.CodeInvalid), nil)
	}
	return r, nil
}

// commit queues events (and the changed snapshot) for recording.
func (r *dealRun) commit(evs []deal.Event) { r.pending = append(r.pending, evs...) }

// dirty reports whether something changed since the last recording.
func (r *dealRun) dirty() bool { return len(r.pending) > 0 }

// run is the deal's main loop: record what changed, keep the search
// attributes and the one timer current, wait for an update or the timer.
func (r *dealRun) run(ctx workflow.Context) (*deal.Deal, error) {
	r.version = workflow.GetVersion(ctx, recordingChange, workflow.DefaultVersion, versionParkedRetry)
	var (
		timer       workflow.Future
		timerAt     time.Time
		cancelTimer workflow.CancelFunc
		recording   workflow.Future // the recording in flight, if any
		retry       workflow.Future // the timer before retrying a parked recording
		cancelRetry workflow.CancelFunc
		// An operator's replay (see SignalRecordingReplayed) retries at once.
		replayed = workflow.GetSignalChannel(ctx, SignalRecordingReplayed)
	)
	for {
		var err error
		if recording, err = r.record(ctx, recording); err != nil {
			return nil, err
		}
		if r.deal.Status.Final() {
			break
		}
		if r.version >= versionParkedRetry {
			switch {
			case r.behind == nil && retry != nil:
				cancelRetry()
				retry = nil
			case r.behind != nil && retry == nil && recording == nil:
				retryCtx, cancel := workflow.WithCancel(ctx)
				retry, cancelRetry = r.retryTimer(retryCtx), cancel
			}
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := r.awaitRecording(ctx, recording); err != nil {
				return nil, err
			}
			return nil, r.continueAsNew(ctx)
		}
		next := r.deal.Next
		if timer != nil && (next == nil || !next.At.Equal(timerAt)) {
			cancelTimer()
			timer = nil
		}
		if timer == nil && next != nil {
			wait := next.At.Sub(workflow.Now(ctx))
			if wait <= 0 {
				r.advance(ctx)
				continue
			}
			timerCtx, cancel := workflow.WithCancel(ctx)
			timer, timerAt, cancelTimer = workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{Summary: next.Summary}), next.At, cancel
		}
		err = workflow.Await(ctx, func() bool {
			if recording != nil {
				return recording.IsReady() || (timer != nil && timer.IsReady())
			}
			return r.dirty() || (timer != nil && timer.IsReady()) ||
				(retry != nil && (retry.IsReady() || replayed.Len() > 0))
		})
		if err != nil {
			return nil, err
		}
		if retry != nil && (retry.IsReady() || replayed.Len() > 0) && recording == nil {
			// Nothing new to record: a recording without events replays
			// what is parked.
			if !retry.IsReady() {
				cancelRetry()
			}
			retry = nil
			recording = r.startRecording(ctx)
		}
		drain(replayed) // only a retry waiting for its timer needs the signal
		if timer != nil && timer.IsReady() {
			timer = nil
			r.advance(ctx)
		}
	}
	if retry != nil {
		cancelRetry() // settle retries on its own
	}
	if err := r.awaitRecording(ctx, recording); err != nil {
		return nil, err
	}
	if err := r.settle(ctx); err != nil {
		return nil, err
	}
	return r.deal, nil
}

// recordingChange is the GetVersion change ID of how the deal records its
// changes and shows its search attributes. Each version stays for as long
// as deals started under it may run.
const recordingChange = "record-in-background"

const (
	// workflow.DefaultVersion: an activity, waited for by the main loop.

	// versionBackgroundRecording: an activity in the background, so
	// deadlines keep firing while a recording waits (Postgres down).
	versionBackgroundRecording workflow.Version = 1
	// versionStartAttributes: search attributes are compared with the
	// workflow's own, so those set at start (StartOptions) are not set
	// again, nor those a run continued as new inherits.
	versionStartAttributes workflow.Version = 2
	// versionParkedRetry: the recording answers whether the store parked
	// the deal's changes (refused for good, see store.RecordOrPark); while
	// it did, the workflow retries on a timer with backoff, shows it in its
	// details, and does not end before the record is complete.
	versionParkedRetry workflow.Version = 3
)

// ParkedRetryBackoff is the first and the longest wait before retrying a
// parked recording (the wait doubles in between). Tests shorten it before
// starting a worker; a timer's duration is not checked on replay.
var ParkedRetryBackoff = struct{ First, Max time.Duration }{time.Minute, time.Hour}

// retryTimer starts the timer before the next retry of a parked recording;
// each one waits twice as long as the one before, up to the longest.
func (r *dealRun) retryTimer(ctx workflow.Context) workflow.Future {
	first, longest := ParkedRetryBackoff.First, ParkedRetryBackoff.Max
	wait := min(max(r.retryWait, first), longest)
	r.retryWait = min(2*wait, longest)
	return workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{
		Summary: fmt.Sprintf("retry the parked recording (%d changes parked)", r.behind.Parked)})
}

// record finishes the background recording if it is done, shows the
// current state in the UI, and starts recording what changed — unless a
// recording is still in flight: changes are recorded in order, so they wait
// for the next turn, and are then recorded together.
func (r *dealRun) record(ctx workflow.Context, inFlight workflow.Future) (workflow.Future, error) {
	if r.version < versionBackgroundRecording {
		return nil, r.flush(ctx)
	}
	if inFlight != nil && inFlight.IsReady() {
		if err := r.finishRecording(ctx, inFlight); err != nil {
			return nil, err
		}
		inFlight = nil
	}
	if err := r.showState(ctx); err != nil {
		return nil, err
	}
	if inFlight == nil && r.dirty() {
		inFlight = r.startRecording(ctx)
	}
	return inFlight, nil
}

// awaitRecording waits for the recording in flight, if any: no activity is
// left behind when the run ends.
func (r *dealRun) awaitRecording(ctx workflow.Context, inFlight workflow.Future) error {
	if inFlight == nil {
		return nil
	}
	return r.finishRecording(ctx, inFlight)
}

// settle lets in-flight updates finish and records everything they changed,
// before the deal's workflow ends. It returns only when both hold at once:
// waiting for a recording yields, and an update applied meanwhile would
// otherwise end unrecorded. The final check does not yield.
func (r *dealRun) settle(ctx workflow.Context) error {
	for {
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return err
		}
		if r.dirty() {
			if err := r.flush(ctx); err != nil {
				return err
			}
			continue
		}
		if r.version < versionParkedRetry || r.behind == nil {
			return nil
		}
		// The record is behind: the workflow stays to retry, so that the
		// closing changes reach the store once the cause is repaired —
		// for weeks if need be, in fresh runs when the history grows long
		// (the next run finds the deal closed and comes straight here).
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return r.continueAsNew(ctx)
		}
		if err := r.awaitRetry(ctx); err != nil {
			return err
		}
		if err := r.showState(ctx); err != nil {
			return err
		}
		if err := r.finishRecording(ctx, r.startRecording(ctx)); err != nil {
			return err
		}
	}
}

// awaitRetry waits for the next retry of a parked recording: the backoff
// timer, or an operator's replay (SignalRecordingReplayed).
func (r *dealRun) awaitRetry(ctx workflow.Context) error {
	replayed := workflow.GetSignalChannel(ctx, SignalRecordingReplayed)
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := r.retryTimer(timerCtx)
	var err error
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(f workflow.Future) { err = f.Get(ctx, nil) })
	sel.AddReceive(replayed, func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
	drain(replayed)
	if err != nil {
		return err
	}
	if !timer.IsReady() {
		cancel()
	}
	return nil
}

// drain empties a signal channel without blocking.
func drain(c workflow.ReceiveChannel) {
	for c.ReceiveAsync(nil) {
	}
}

// advance fires every deadline that is due.
func (r *dealRun) advance(ctx workflow.Context) {
	if evs := r.deal.Advance(workflow.Now(ctx)); len(evs) > 0 {
		r.commit(evs)
	}
}

// recordOptions: recording must eventually succeed, however long Postgres is
// down, so retries are unlimited; the deal's state is safe in Temporal
// meanwhile and updates keep working.
var recordOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{activities.InvalidChangeType},
	},
}

var acts *activities.Activities

// flush records everything that changed since the last flush, in one
// activity, and waits for it. Updates that arrive meanwhile are batched into
// the next recording.
func (r *dealRun) flush(ctx workflow.Context) error {
	if err := r.showState(ctx); err != nil {
		return err
	}
	if !r.dirty() {
		return nil
	}
	return r.finishRecording(ctx, r.startRecording(ctx))
}

// showState keeps what the Temporal UI shows current: search attributes
// and the workflow's details.
func (r *dealRun) showState(ctx workflow.Context) error {
	if err := r.upsertSearchAttributes(ctx); err != nil {
		return err
	}
	workflow.SetCurrentDetails(ctx, r.details())
	return nil
}

// startRecording hands the pending changes to the recording activity.
func (r *dealRun) startRecording(ctx workflow.Context) workflow.Future {
	change := activities.Change{Deal: *r.deal, Events: r.pending}
	r.pending = nil
	opts := recordOptions
	opts.Summary = fmt.Sprintf("record v%d: %d events", change.Deal.Version, len(change.Events))
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), acts.RecordChange, change)
}

// finishRecording waits for a recording. A change the store refuses for
// good is parked there (RecordChange answers how many of the deal's are);
// from versionParkedRetry on, the workflow keeps that answer to retry them
// and to show its record behind. Under earlier versions the answer is not
// read (their histories have none). A change no store can take at all
// (NonRetryable: no deal id) must not stop the deal: the workflow history
// still holds it for operators.
func (r *dealRun) finishRecording(ctx workflow.Context, f workflow.Future) error {
	if r.version >= versionParkedRetry {
		var res activities.RecordResult
		err := f.Get(ctx, &res)
		if err == nil {
			r.noteRecorded(res)
			workflow.SetCurrentDetails(ctx, r.details())
			return nil
		}
		return r.unrecorded(err)
	}
	return r.unrecorded(f.Get(ctx, nil))
}

// noteRecorded keeps what a recording answered: behind while the store
// holds parked changes of the deal.
func (r *dealRun) noteRecorded(res activities.RecordResult) {
	if res.Parked == 0 {
		r.behind, r.retryWait = nil, 0
		return
	}
	if r.behind == nil {
		r.logger.Error("deal record behind: changes parked in the store", "parked", res.Parked, "error", res.Error)
	}
	r.behind = &res
}

// unrecorded handles a recording's failure: one the store can never accept
// and could not park must not stop the deal.
func (r *dealRun) unrecorded(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		r.logger.Error("change not recorded", "error", err)
		return nil
	}
	return err
}

// continueAsNew hands the deal to a fresh run once the history grows long.
// It does not wait for the last changes to be recorded: under a steady
// stream of updates that wait would never end while the history kept
// growing. Unrecorded events travel with the state instead, and the next run
// records them first. Handlers never block, so waiting for them to finish
// does not yield, and no update can slip in before the run closes.
func (r *dealRun) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	r.logger.Info("continuing as new", "version", r.deal.Version, "unrecorded_events", len(r.pending))
	return workflow.NewContinueAsNewError(ctx, DealWorkflowName, DealInput{Resume: &Carried{Deal: *r.deal, Updates: r.updates, Pending: r.pending, Behind: r.behind}})
}

// details is the markdown the Temporal UI shows as the workflow's current
// details.
func (r *dealRun) details() string {
	d := r.deal
	s := fmt.Sprintf("**%s** — %s · %s", d.Name, d.Customer, d.Status)
	if keys := d.ActiveKeys(); len(keys) > 0 {
		s += fmt.Sprintf("\n\nactive: %v", keys)
	}
	if d.Next != nil {
		s += fmt.Sprintf("\n\nnext: %s at %s", d.Next.Summary, d.Next.At.Format(time.RFC3339))
	}
	if b := r.behind; b != nil {
		s += fmt.Sprintf("\n\n**⚠ record behind**: %d changes parked in the store since %s, refused: %s. "+
			"Retrying with backoff; operators: `dealflow recordings show %s`, then `dealflow recordings retry %s`.",
			b.Parked, b.Since.Format(time.RFC3339), b.Error, d.ID, d.ID)
	}
	return s
}
