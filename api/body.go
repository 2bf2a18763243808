package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// bind decodes a JSON request body strictly: the content type must be JSON,
// the body within the size limit, every field known, one value only.
func (s *Server) bind(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return apiError(http.StatusUnsupportedMediaType, codeUnsupportedType, "content type %q is not supported: send application/json", ct)
		}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return decodeError(err, s.cfg.MaxBodyBytes)
	}
	if e := utf8Error(raw); e != nil {
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, s.cfg.MaxBodyBytes)
	}
	if dec.More() {
		return apiError(http.StatusBadRequest, codeBadRequest, "the body must hold a single JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiError(http.StatusBadRequest, codeBadRequest, "unexpected data after the JSON object")
	}
	return nil
}

func decodeError(err error, limit int64) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxBytes  *http.MaxBytesError
		badFields = "json: unknown field "
	)
	switch {
	case errors.Is(err, io.EOF):
		return apiError(http.StatusBadRequest, codeBadRequest, "the request body is empty: send a JSON object")
	case errors.As(err, &maxBytes):
		return apiError(http.StatusRequestEntityTooLarge, codeTooLarge, "the request body exceeds %d bytes", limit)
	case errors.As(err, &syntax):
		return apiError(http.StatusBadRequest, codeBadRequest, "malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "the body"
		}
		return apiError(http.StatusBadRequest, codeBadRequest, "%s must be %s, not %s", field, kindName(typeErr.Type.Kind().String()), typeErr.Value)
	case strings.HasPrefix(err.Error(), badFields):
		return apiError(http.StatusBadRequest, codeBadRequest, "unknown field %s: see /openapi.yaml for the accepted fields", strings.TrimPrefix(err.Error(), badFields))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apiError(http.StatusBadRequest, codeBadRequest, "malformed JSON: the body ends too early")
	}
	// Errors from our own UnmarshalJSON methods (a bad duration, say) speak
	// to the user already.
	return apiError(http.StatusBadRequest, codeBadRequest, "%s", fmt.Sprint(err))
}

func kindName(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "float64", "float32", "int", "int64", "int32":
		return "a number"
	case "bool":
		return "true or false"
	}
	return "a " + k
}
