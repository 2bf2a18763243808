package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows/plan"
)

// Activities and leads arrive as a JSON array or as CSV (Content-Type:
// text/csv) whose header names these columns. Either way an upload is all
// or nothing: the first bad record is named by its CSV line or its JSON
// index (from 0) and its field, and nothing is stored. Ids are the client's:
// an activity sent again changes nothing; a lead sent again replaces the
// stored one if it differs (that is how it becomes qualified, then
// converted).
var (
	funnelActivityColumns  = []string{"id", "rep", "kind", "at"}
	funnelActivityOptional = []string{"outcome"}
	funnelLeadColumns      = []string{"id", "rep", "created_at"}
	funnelLeadOptional     = []string{"qualified_at", "converted_at", "amount"}
)

func (s *Server) ingestFunnelActivities(c echo.Context) error {
	ins, places, err := readFunnelUpload(s, c, funnelActivityColumns, funnelActivityOptional, func(r csvRecord) (store.FunnelActivityInput, *plan.Problem) {
		return store.FunnelActivityInput{ID: r.Get("id"), Rep: r.Get("rep"), Kind: r.Get("kind"), At: r.Get("at"), Outcome: r.Get("outcome")}, nil
	})
	if err != nil {
		return err
	}
	acts := make([]store.FunnelActivity, len(ins))
	ids, reps := make([]string, len(ins)), make([]string, len(ins))
	for i, in := range ins {
		a, p := in.Parse()
		if p != nil {
			return places[i].fail(p.Field, p.Message)
		}
		acts[i], ids[i], reps[i] = a, a.ID, a.Rep
	}
	if err := s.checkFunnelUpload(c, "activities", ids, reps, places); err != nil {
		return err
	}
	res, err := s.store.IngestFunnelActivities(c.Request().Context(), acts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) ingestFunnelLeads(c echo.Context) error {
	ins, places, err := readFunnelUpload(s, c, funnelLeadColumns, funnelLeadOptional, func(r csvRecord) (store.FunnelLeadInput, *plan.Problem) {
		in := store.FunnelLeadInput{ID: r.Get("id"), Rep: r.Get("rep"), CreatedAt: r.Get("created_at"),
			QualifiedAt: r.Get("qualified_at"), ConvertedAt: r.Get("converted_at")}
		if v := r.Get("amount"); v != "" {
			a, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return in, &plan.Problem{Field: "amount", Message: fmt.Sprintf("%q is not a number: write it like 125000 or 125000.50", v)}
			}
			in.Amount = &a
		}
		return in, nil
	})
	if err != nil {
		return err
	}
	leads := make([]store.FunnelLead, len(ins))
	ids, reps := make([]string, len(ins)), make([]string, len(ins))
	for i, in := range ins {
		l, p := in.Parse()
		if p != nil {
			return places[i].fail(p.Field, p.Message)
		}
		leads[i], ids[i], reps[i] = l, l.ID, l.Rep
	}
	if err := s.checkFunnelUpload(c, "leads", ids, reps, places); err != nil {
		return err
	}
	res, err := s.store.IngestFunnelLeads(c.Request().Context(), leads)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// funnelPlace is where a record was in its upload: a CSV line, or a JSON
// array index.
type funnelPlace struct {
	line, index int
	csv         bool
}

func (p funnelPlace) String() string {
	if p.csv {
		return fmt.Sprintf("line %d", p.line)
	}
	return fmt.Sprintf("item %d", p.index)
}

// fail rejects the upload at this record.
func (p funnelPlace) fail(field, message string) error {
	if p.csv {
		return importError(lineError{Line: p.line, Field: field, Message: message})
	}
	return importError(lineError{Index: &p.index, Field: field, Message: message})
}

// readFunnelUpload reads a CSV body (each line through fromCSV) or a JSON
// array of T, each item decoded strictly on its own so that a bad one is
// named by its index. Either body may be as large as a CSV import.
func readFunnelUpload[T any](s *Server, c echo.Context, required, optional []string, fromCSV func(csvRecord) (T, *plan.Problem)) ([]T, []funnelPlace, error) {
	var ins []T
	var places []funnelPlace
	if isCSV(c) {
		recs, err := s.readCSV(c, required, optional)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range recs {
			place := funnelPlace{line: r.Line, csv: true}
			in, p := fromCSV(r)
			if p != nil {
				return nil, nil, place.fail(p.Field, p.Message)
			}
			ins, places = append(ins, in), append(places, place)
		}
	} else {
		raws, err := s.readJSONArray(c)
		if err != nil {
			return nil, nil, err
		}
		for i, raw := range raws {
			place := funnelPlace{index: i}
			var in T
			if err := decodeStrict(raw, &in); err != nil {
				return nil, nil, place.fail(err.field, err.message)
			}
			ins, places = append(ins, in), append(places, place)
		}
	}
	if len(ins) == 0 {
		return nil, nil, apiError(http.StatusBadRequest, codeBadRequest, "nothing to import: send a JSON array or a CSV file with the columns %s",
			strings.Join(append(slices.Clone(required), optional...), ","))
	}
	return ins, places, nil
}

// readJSONArray reads a JSON array body, its items left undecoded.
func (s *Server) readJSONArray(c echo.Context) ([]json.RawMessage, error) {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return nil, apiError(http.StatusUnsupportedMediaType, codeUnsupportedType, "content type %q is not supported: send application/json (an array) or text/csv", ct)
		}
	}
	limit := s.cfg.MaxBodyBytes * 32
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, limit))
	var raws []json.RawMessage
	if err := dec.Decode(&raws); err != nil {
		return nil, decodeError(err, limit)
	}
	if dec.More() {
		return nil, apiError(http.StatusBadRequest, codeBadRequest, "the body must hold a single JSON array")
	}
	return raws, nil
}

// itemError is a JSON item that does not decode: the field and why.
type itemError struct{ field, message string }

// decodeStrict decodes one JSON item, refusing unknown fields and values
// of the wrong type.
func decodeStrict(raw json.RawMessage, v any) *itemError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &itemError{typeErr.Field, fmt.Sprintf("must be %s, not %s", kindName(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &typeErr):
		return &itemError{"item", "must be an object, not " + typeErr.Value}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &itemError{field, "unknown field; see /openapi.yaml for the accepted fields"}
	}
	return &itemError{"item", err.Error()}
}

// checkFunnelUpload refuses an upload that repeats an id (which copy would
// count?) or names a rep who is not an active user, naming the first such
// record.
func (s *Server) checkFunnelUpload(c echo.Context, what string, ids, reps []string, places []funnelPlace) error {
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if j, ok := seen[id]; ok {
			return places[i].fail("id", fmt.Sprintf("%q repeats the id of %s; send each of the %s once", id, places[j], what))
		}
		seen[id] = i
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(reps)))
	missing, err := s.store.MissingUsers(c.Request().Context(), distinct)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	for i, rep := range reps {
		if slices.Contains(missing, rep) {
			return places[i].fail("rep", fmt.Sprintf("unknown rep %q: not an active user; create it first (POST /v1/users)", rep))
		}
	}
	return nil
}
