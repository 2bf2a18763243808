package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"dealflow/workflows/deal"
)

// apiError is the API's one error shape ({"error": {...}}), with the
// status it came with: what the console shows on the page.
type apiError struct {
	Status   int            `json:"-"`
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Problems []deal.Problem `json:"problems,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// call sends one request to the API in process, as the signed-in user (the
// session's token as a bearer token), and decodes the answer into out. The
// console has no other way to read or change anything, so it has exactly
// the API's authorization and rules. Query parameters go in path.
// idempotencyKey, when set, makes a resent form apply once.
func (c *Console) call(ctx context.Context, from *http.Request, token, method, path string, body, out any, idempotencyKey string) *apiError {
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "the console could not encode its request: " + err.Error()}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf("not a valid address: %s", path)}
	}
	if body != nil {
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	if token != "" {
		req.Header.Set(echo.HeaderAuthorization, "Bearer "+token)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if from != nil {
		// One request ID for the page and the API calls it made.
		req.Header.Set(echo.HeaderXRequestID, from.Header.Get(echo.HeaderXRequestID))
		req.RemoteAddr = from.RemoteAddr
	}
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		var e struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Error == nil {
			e.Error = &apiError{Code: "internal", Message: strings.TrimSpace(http.StatusText(rec.status))}
		}
		e.Error.Status = rec.status
		return e.Error
	}
	if out != nil {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return &apiError{Status: http.StatusBadGateway, Code: "internal", Message: "the console could not read the API's answer: " + err.Error()}
		}
	}
	return nil
}

// get is call for a GET as the session's user.
func (c *Console) get(ec echo.Context, s *session, path string, out any) *apiError {
	return c.call(ec.Request().Context(), ec.Request(), s.Token, http.MethodGet, path, nil, out, "")
}

// post is call for a POST as the session's user, with the form's
// idempotency key.
func (c *Console) post(ec echo.Context, s *session, path string, body, out any) *apiError {
	return c.call(ec.Request().Context(), ec.Request(), s.Token, http.MethodPost, path, body, out, ec.FormValue("idem"))
}

// pathEscape escapes one path segment (a deal id or milestone key).
func pathEscape(s string) string { return url.PathEscape(s) }

// recorder is an in-memory http.ResponseWriter for in-process API calls.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
