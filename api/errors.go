package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"dealflow/activities/store"
	"dealflow/workflows"
	"dealflow/workflows/coverage"
	"dealflow/workflows/deal"
)

// Error is the one JSON shape of every error response:
// {"error": {"code": "...", "message": "...", "problems": [...]}}.
type Error struct {
	Status   int            `json:"-"`
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Problems []deal.Problem `json:"problems,omitempty"`
}

func (e *Error) Error() string { return e.Message }

type errorBody struct {
	Error *Error `json:"error"`
}

// Error codes that are not deal.ErrorCode values.
const (
	codeBadRequest      = "bad_request"
	codeUnauthenticated = "unauthenticated"
	codeUnavailable     = "unavailable"
	codeInternal        = "internal"
	codeTooLarge        = "too_large"
	codeUnsupportedType = "unsupported_media_type"
	codeMethod          = "method_not_allowed"
)

func apiError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

var actionStatus = map[deal.ErrorCode]int{
	deal.CodeInvalid:   http.StatusUnprocessableEntity,
	deal.CodeForbidden: http.StatusForbidden,
	deal.CodeConflict:  http.StatusConflict,
	deal.CodeNotFound:  http.StatusNotFound,
	deal.CodeTooLarge:  http.StatusRequestEntityTooLarge,
}

// toError maps any error a handler returns to the response it deserves.
// Internal details never reach the client: they are logged instead.
func toError(err error) (*Error, bool) {
	var (
		e        *Error
		he       *echo.HTTPError
		ve       *deal.ValidationError
		ae       *deal.ActionError
		ie       *store.InputError
		author   *coverage.AuthorError
		owner    *store.TemplateOwnerError
		appErr   *temporal.ApplicationError
		notFound *serviceerror.NotFound
	)
	switch {
	case errors.As(err, &e):
		return e, false
	case errors.As(err, &ve):
		return &Error{Status: http.StatusUnprocessableEntity, Code: string(deal.CodeInvalid), Message: ve.Error(), Problems: ve.Problems}, false
	case errors.As(err, &ae):
		return &Error{Status: actionStatus[ae.Code], Code: string(ae.Code), Message: ae.Message}, false
	case errors.As(err, &appErr):
		if code, ok := workflows.ActionErrorCode(appErr); ok && actionStatus[code] != 0 {
			return &Error{Status: actionStatus[code], Code: string(code), Message: appErr.Message()}, false
		}
	case errors.As(err, &author):
		return apiError(http.StatusForbidden, string(deal.CodeForbidden), "%s; nothing was imported", author.Message), false
	case errors.As(err, &owner):
		return apiError(http.StatusForbidden, string(deal.CodeForbidden), "%s", owner.Error()), false
	case errors.As(err, &ie):
		return &Error{Status: http.StatusBadRequest, Code: codeBadRequest, Message: ie.Error()}, false
	case errors.Is(err, store.ErrNotFound), errors.As(err, &notFound):
		return apiError(http.StatusNotFound, string(deal.CodeNotFound), "not found"), false
	case errors.Is(err, store.ErrDuplicate):
		return apiError(http.StatusConflict, string(deal.CodeConflict), "already exists"), false
	case errors.As(err, &he):
		return fromEcho(he), false
	}
	if noWorker(err) {
		return apiError(http.StatusServiceUnavailable, codeUnavailable, "no dealflow worker is polling the deals' task queue; start one (dealflow worker) and retry"), true
	}
	if unavailable(err) {
		return apiError(http.StatusServiceUnavailable, codeUnavailable, "a backing service (Postgres or Temporal) is unavailable; retry shortly"), true
	}
	return apiError(http.StatusInternalServerError, codeInternal, "internal error; see the server log"), true
}

// noWorker reports whether Temporal refused a query because no worker has
// polled the task queue lately (every worker is down).
func noWorker(err error) bool {
	var pre *serviceerror.FailedPrecondition
	return errors.As(err, &pre) && strings.Contains(pre.Error(), "no poller seen")
}

// unavailable reports whether err means Postgres, Temporal or the workers
// are down or too slow, as opposed to a bug.
func unavailable(err error) bool {
	if noWorker(err) {
		return true
	}
	var (
		unav     *serviceerror.Unavailable
		deadline *serviceerror.DeadlineExceeded
		canceled *serviceerror.Canceled
		busy     *serviceerror.ResourceExhausted
	)
	return store.IsUnavailable(err) || errors.As(err, &unav) || errors.As(err, &deadline) ||
		errors.As(err, &canceled) || errors.As(err, &busy) || errors.Is(err, context.DeadlineExceeded)
}

func fromEcho(he *echo.HTTPError) *Error {
	msg := fmt.Sprint(he.Message)
	switch he.Code {
	case http.StatusNotFound:
		return apiError(he.Code, string(deal.CodeNotFound), "no such route; see /openapi.yaml")
	case http.StatusMethodNotAllowed:
		return apiError(he.Code, codeMethod, "method not allowed on this route; see /openapi.yaml")
	case http.StatusRequestEntityTooLarge:
		return apiError(he.Code, codeTooLarge, "request body too large")
	case http.StatusUnauthorized:
		return apiError(he.Code, codeUnauthenticated, "%s", msg)
	}
	return apiError(he.Code, codeBadRequest, "%s", msg)
}

// handleError is Echo's error handler: one place that writes errors.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e, internal := toError(err)
	if internal {
		s.log.ErrorContext(c.Request().Context(), "request failed", "error", err, "status", e.Status,
			"method", c.Request().Method, "path", c.Path(), "request_id", requestID(c))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	_ = c.JSON(e.Status, errorBody{Error: e})
}
