package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/workflows"
	"dealflow/workflows/deal"
)

// IdempotencyKeyHeader names the header that makes a retried action apply
// once: the same key on the same deal returns the first outcome.
const IdempotencyKeyHeader = "Idempotency-Key"

const maxIdempotencyKey = 200

// actionHandler serves one deal action: decode the body into the action
// (the actor always comes from the token), send it as an update, answer
// with the new state. The workflow's validator has the last word on whether
// this user may act on this deal.
func (s *Server) actionHandler(update string, decode func(c echo.Context, actor deal.Acting) (deal.Action, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(IdempotencyKeyHeader)
		if len(key) > maxIdempotencyKey {
			return apiError(http.StatusBadRequest, codeBadRequest, "%s is longer than %d characters", IdempotencyKeyHeader, maxIdempotencyKey)
		}
		a, err := decode(c, deal.Acting{Actor: currentUser(c).ID})
		if err != nil {
			return err
		}
		// The model's input rules, here too, so the answer lists every
		// problem by field; the workflow's validator checks them again.
		if err := deal.ValidateAction(a); err != nil {
			return err
		}
		d, err := s.act(c.Request().Context(), c.Param("id"), update, key, a)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, s.dealView(d))
	}
}

type submitRequest struct {
	Checklist []string `json:"checklist"`
	Evidence  []string `json:"evidence"`
	Note      string   `json:"note"`
}

type reviewRequest struct {
	Decision deal.ReviewDecision `json:"decision"`
	Comment  string              `json:"comment"`
}

type planRequest struct {
	Ops []deal.PlanOp `json:"ops"`
}

type pauseRequest struct {
	Until  string `json:"until"`
	Reason string `json:"reason"`
}

// until parses the optional end of a pause.
func (r pauseRequest) until() (time.Time, error) {
	if r.Until == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, r.Until)
	if err != nil {
		return time.Time{}, apiError(http.StatusBadRequest, codeBadRequest, "until %q is not an RFC 3339 time such as 2027-03-31T18:00:00+08:00", r.Until)
	}
	return t, nil
}

type buyerStageRequest struct {
	Stage deal.BuyerStage `json:"stage"`
	Note  string          `json:"note"`
}

type closeRequest struct {
	Outcome deal.DealStatus `json:"outcome"`
	Reason  string          `json:"reason"`
}

// actionRoutes maps each action route to its update and its decoder.
func (s *Server) actionRoutes(g *echo.Group) {
	g.POST("/deals/:id/milestones/:key/submit", s.actionHandler(workflows.UpdateSubmit, func(c echo.Context, who deal.Acting) (deal.Action, error) {
		var r submitRequest
		err := s.bind(c, &r)
		return deal.Submit{Acting: who, Milestone: c.Param("key"), Checklist: r.Checklist, Evidence: r.Evidence, Note: r.Note}, err
	}))
	g.POST("/deals/:id/milestones/:key/review", s.actionHandler(workflows.UpdateReview, func(c echo.Context, who deal.Acting) (deal.Action, error) {
		var r reviewRequest
		err := s.bind(c, &r)
		return deal.ReviewAction{Acting: who, Milestone: c.Param("key"), Decision: r.Decision, Comment: r.Comment}, err
	}))
	g.POST("/deals/:id/plan", s.actionHandler(workflows.UpdatePlan, func(c echo.Context, who deal.Acting) (deal.Action, error) {
		var r planRequest
		if err := s.bind(c, &r); err != nil {
			return nil, err
		}
		change := deal.PlanChange{Acting: who, Ops: r.Ops}
		if err := deal.ValidateAction(change); err != nil {
			return nil, err // before the user lookup, which needs valid ids
		}
		var users []string
		for _, op := range r.Ops {
			if op.Owner != "" {
				users = append(users, op.Owner)
			}
			if op.Milestone != nil {
				users = append(users, milestoneUsers(*op.Milestone)...)
			}
		}
		return change, s.requireUsers(c, users)
	}))
	g.POST("/deals/:id/pause", s.actionHandler(workflows.UpdatePause, func(c echo.Context, who deal.Acting) (deal.Action, error) {
		var r pauseRequest
		if err := s.bind(c, &r); err != nil {
			return nil, err
		}
		until, err := r.until()
		return deal.PauseAction{Acting: who, Until: until, Reason: r.Reason}, err
	}))
	g.POST("/deals/:id/resume", s.actionHandler(workflows.UpdateResume, func(c echo.Context, who deal.Acting) (deal.Action, error) {
		return deal.ResumeAction{Acting: who}, s.bindOptional(c, &struct{}{})
	}))
	g.POST("/deals/:id/buyer-stage", s.actionHandler(workflows.UpdateBuyerStage, func(c echo.Context, who deal.Acting) (deal.Action, error) {
		var r buyerStageRequest
		err := s.bind(c, &r)
		return deal.BuyerStageAction{Acting: who, Stage: r.Stage, Note: r.Note}, err
	}))
	g.POST("/deals/:id/close", s.actionHandler(workflows.UpdateClose, func(c echo.Context, who deal.Acting) (deal.Action, error) {
		var r closeRequest
		err := s.bind(c, &r)
		return deal.CloseAction{Acting: who, Outcome: r.Outcome, Reason: r.Reason}, err
	}))
}

// bindOptional decodes a body when there is one.
func (s *Server) bindOptional(c echo.Context, v any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	return s.bind(c, v)
}
