package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"dealflow/activities/store"
	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// startDealRequest is the body of POST /v1/deals. Exactly one of Template
// (a built-in or saved template's name) and Plan (an explicit plan) is given.
type startDealRequest struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Customer string         `json:"customer"`
	Amount   float64        `json:"amount"`
	Currency string         `json:"currency"`
	Team     deal.Team      `json:"team"`
	Template string         `json:"template"`
	Plan     *deal.Template `json:"plan"`
}

func (s *Server) createDeal(c echo.Context) error {
	ctx := c.Request().Context()
	var req startDealRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if req.Team.PMO == "" {
		req.Team.PMO = currentUser(c).ID
	}
	tmpl, version, err := s.resolvePlan(c, req.Template, req.Plan)
	if err != nil {
		return err
	}
	spec := deal.DealSpec{ID: req.ID, Name: req.Name, Customer: req.Customer, Amount: req.Amount, Currency: req.Currency, Team: req.Team,
		Plan: tmpl, TemplateVersion: version}
	// Validate here, with the same model the workflow uses, so a bad plan is
	// a 422 now and never a failed workflow, and every limit holds (413 for
	// a deal that would start over the state bound).
	if err := deal.CheckSpec(spec, time.Now()); err != nil {
		return err
	}
	if err := s.requireUsers(c, dealUsers(spec)); err != nil {
		return err
	}
	initial, err := s.startDeal(ctx, spec)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/deals/"+url.PathEscape(spec.ID))
	if initial != nil {
		return c.JSON(http.StatusCreated, s.dealView(initial))
	}
	// A retried start of a deal that exists already: answer as GET would.
	d, err := s.currentDeal(ctx, spec.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}

// resolvePlan returns the plan a new deal starts from and the version of
// the template it comes from (the latest of a saved template).
func (s *Server) resolvePlan(c echo.Context, name string, explicit *deal.Template) (deal.Template, int, error) {
	switch {
	case name != "" && explicit != nil:
		return deal.Template{}, 0, apiError(http.StatusBadRequest, codeBadRequest, "give either template or plan, not both")
	case explicit != nil:
		if explicit.Name == "" {
			explicit.Name = "custom"
		}
		return *explicit, deal.BuiltinTemplateVersion, nil
	case name == "":
		return deal.Template{}, 0, apiError(http.StatusBadRequest, codeBadRequest, "template is required (project, solution, key-account or a saved template), or give an explicit plan")
	}
	t, err := s.template(c, name)
	return t.Template, t.version(), err
}

// dealUsers lists every user a deal names: its team and explicit owners and
// reviewers.
func dealUsers(spec deal.DealSpec) []string {
	users := spec.Team.Members()
	for _, m := range spec.Plan.Milestones {
		users = append(users, milestoneUsers(m)...)
	}
	return users
}

func milestoneUsers(m deal.MilestoneSpec) []string {
	var users []string
	if m.Owner != "" {
		users = append(users, m.Owner)
	}
	if m.Review != nil {
		for _, p := range m.Review.Reviewers {
			if id, ok := strings.CutPrefix(string(p), "user:"); ok {
				users = append(users, id)
			}
		}
	}
	return users
}

// requireUsers answers 422 naming every id that is not an active user.
func (s *Server) requireUsers(c echo.Context, ids []string) error {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	missing, err := s.store.MissingUsers(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return apiError(http.StatusUnprocessableEntity, string(deal.CodeInvalid), "unknown or disabled users: %s; create them first (POST /v1/users)", strings.Join(missing, ", "))
	}
	return nil
}

func (s *Server) listDeals(c echo.Context) error {
	q := c.QueryParams()
	f := store.DealFilter{
		Status: q.Get("status"), Stage: q.Get("stage"), PMO: q.Get("pmo"), Customer: q.Get("customer"),
		Text: q.Get("q"), Sort: q.Get("sort"), Cursor: q.Get("cursor"),
	}
	if v := q.Get("overdue"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return apiError(http.StatusBadRequest, codeBadRequest, "overdue must be true or false, not %q", v)
		}
		f.Overdue = &b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return apiError(http.StatusBadRequest, codeBadRequest, "limit must be a positive whole number, not %q", v)
		}
		f.Limit = n
	}
	page, err := s.store.ListDeals(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// dealResponse is a deal's state plus where to watch it.
type dealResponse struct {
	*deal.Deal
	TemporalURL string `json:"temporal_url"`
	// Source is "workflow" for the workflow's state (live, or the state a
	// deal starts in, which its start computes with the workflow's own
	// model), "read-model" for the projection (closed deals, or while
	// Temporal is unreachable).
	Source string `json:"source"`
	// Recording is set when the store refused some of the deal's changes
	// and holds them parked: the audit trail, read model and notifications
	// are behind the state shown until they are replayed.
	Recording *store.RecordingStatus `json:"recording,omitempty"`
}

func (s *Server) dealView(d *deal.Deal) dealResponse {
	return dealResponse{Deal: d, TemporalURL: s.temporalURL(d.ID), Source: "workflow"}
}

func (s *Server) getDeal(c echo.Context) error {
	ctx := c.Request().Context()
	d, err := s.currentDeal(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if d.Recording, err = s.store.RecordingStatusOf(ctx, d.ID); err != nil {
		// The deal is still worth showing.
		s.log.Warn("reading the recording status of a deal", "deal", d.ID, "err", err)
	}
	return c.JSON(http.StatusOK, d)
}

// currentDeal is a deal's state: the read model's for a closed deal, the
// workflow's for an open one, the read model's again when Temporal cannot
// answer.
func (s *Server) currentDeal(ctx context.Context, id string) (dealResponse, error) {
	stored, storeErr := s.store.GetDeal(ctx, id)
	if storeErr == nil && stored.Status.Final() {
		return dealResponse{Deal: stored, TemporalURL: s.temporalURL(id), Source: "read-model"}, nil
	}
	live, err := s.liveState(ctx, id)
	if err == nil {
		return s.dealView(live), nil
	}
	var notFound *serviceerror.NotFound
	switch {
	case storeErr == nil && (unavailable(err) || errors.As(err, &notFound)):
		return dealResponse{Deal: stored, TemporalURL: s.temporalURL(id), Source: "read-model"}, nil
	case errors.As(err, &notFound):
		return dealResponse{}, apiError(http.StatusNotFound, string(deal.CodeNotFound), "no deal with id %q", id)
	}
	return dealResponse{}, err
}

func (s *Server) dealEvents(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	after, err := intParam(c, "after", 0)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 200)
	if err != nil {
		return err
	}
	if _, err := s.store.GetDeal(ctx, id); errors.Is(err, store.ErrNotFound) {
		// Not projected yet, or no such deal: the workflow knows which.
		if _, err := s.liveState(ctx, id); err != nil {
			return s.missingDeal(ctx, id)
		}
	} else if err != nil {
		return err
	}
	evs, err := s.store.ListEvents(ctx, id, int64(after), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"events": evs})
}

func intParam(c echo.Context, name string, def int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, apiError(http.StatusBadRequest, codeBadRequest, "%s must be a whole number ≥ 0, not %q", name, v)
	}
	return n, nil
}

// temporalURL links a deal's workflow in the Temporal UI. Each path segment
// is escaped, the workflow ID as a whole ("deal/<id>" is one segment there).
func (s *Server) temporalURL(dealID string) string {
	return strings.TrimRight(s.cfg.TemporalUIURL, "/") + "/namespaces/" + url.PathEscape(s.cfg.Namespace) + "/workflows/" + url.PathEscape(workflows.DealWorkflowID(dealID))
}
