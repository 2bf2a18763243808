package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// temporalTimeout bounds every call to Temporal, so a missing worker or a
// slow server turns into a 503 rather than a hung request.
const temporalTimeout = 10 * time.Second

// startDeal starts the deal's workflow and returns the state it starts in.
// An existing deal ID is a conflict, even when that deal has closed, unless
// the existing deal was started from exactly this spec: then this is a
// client retrying a start whose answer it never got, and it succeeds again,
// with a nil state (the deal may have moved on since).
func (s *Server) startDeal(ctx context.Context, spec deal.DealSpec) (*deal.Deal, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	initial, err := workflows.StartDeal(ctx, s.temporal, s.cfg.TaskQueue, spec, time.Now().UTC())
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		if same, _ := s.startedFrom(ctx, spec); same {
			return nil, nil
		}
		return nil, apiError(http.StatusConflict, string(deal.CodeConflict), "a deal with id %q already exists; choose another id", spec.ID)
	}
	return initial, err
}

// startedFrom reports whether the deal's workflow was started from spec,
// by comparing spec with the input recorded in its first history event.
func (s *Server) startedFrom(ctx context.Context, spec deal.DealSpec) (bool, error) {
	it := s.temporal.GetWorkflowHistory(ctx, workflows.DealWorkflowID(spec.ID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return false, nil
	}
	first, err := it.Next()
	if err != nil {
		return false, err
	}
	var in workflows.DealInput
	if err := converter.GetDefaultDataConverter().FromPayloads(first.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil || in.Spec == nil {
		return false, err
	}
	was, err1 := json.Marshal(in.Spec)
	now, err2 := json.Marshal(spec)
	return err1 == nil && err2 == nil && bytes.Equal(was, now), nil
}

// act sends one human action to the deal's workflow as an update and waits
// for the new state. key, when set, makes retries of the same action apply
// it once (it becomes the update ID).
func (s *Server) act(ctx context.Context, dealID, update, key string, action deal.Action) (*deal.Deal, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	d, err := workflows.UpdateDeal(ctx, s.temporal, dealID, key, update, action)
	if err == nil {
		return d, nil
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, s.missingDeal(ctx, dealID)
	}
	return nil, err
}

// missingDeal explains why a deal's workflow is not running: it closed, or
// it never existed.
func (s *Server) missingDeal(ctx context.Context, dealID string) error {
	if d, err := s.store.GetDeal(ctx, dealID); err == nil && d.Status.Final() {
		return apiError(http.StatusConflict, string(deal.CodeConflict), "deal %q is closed (%s); nothing can change", dealID, d.Status)
	}
	return apiError(http.StatusNotFound, string(deal.CodeNotFound), "no deal with id %q", dealID)
}

// liveState queries the running workflow for the deal's whole state.
func (s *Server) liveState(ctx context.Context, dealID string) (*deal.Deal, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	v, err := s.temporal.QueryWorkflow(ctx, workflows.DealWorkflowID(dealID), "", workflows.QueryState)
	if err != nil {
		return nil, err
	}
	var d deal.Deal
	if err := v.Get(&d); err != nil {
		return nil, err
	}
	return &d, nil
}
