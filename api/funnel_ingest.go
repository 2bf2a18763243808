package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows/problem"
)

// Activities and leads arrive as a JSON array or as CSV (Content-Type:
// text/csv) whose header names these columns. Either way an upload is all
// or nothing: the first bad record is named by its CSV line or its JSON
// index (from 0) and its field, and nothing is stored. Ids are the client's:
// an activity sent again changes nothing; a lead sent again replaces the
// stored one if it differs (that is how it becomes qualified, then
// converted). These routes name no target (records serve every target);
// the caller's role is checked by the route's middleware before the body
// is read, and the body is streamed within the import limits (see
// importLimits).
var (
	funnelActivityColumns  = []string{"id", "rep", "kind", "at"}
	funnelActivityOptional = []string{"outcome"}
	funnelLeadColumns      = []string{"id", "rep", "created_at"}
	funnelLeadOptional     = []string{"qualified_at", "converted_at", "amount"}
)

func (s *Server) ingestFunnelActivities(c echo.Context) error {
	acts, places, err := readFunnelUpload(s, c, funnelActivityColumns, funnelActivityOptional,
		func(r csvRecord) (store.FunnelActivityInput, *itemError) {
			return store.FunnelActivityInput{ID: r.Get("id"), Rep: r.Get("rep"), Kind: r.Get("kind"), At: r.Get("at"), Outcome: r.Get("outcome")}, nil
		},
		func(in store.FunnelActivityInput) (store.FunnelActivity, *itemError) {
			if p := checkTexts(line("id", in.ID), line("rep", in.Rep), line("kind", in.Kind), line("at", in.At), line("outcome", in.Outcome)); p != nil {
				return store.FunnelActivity{}, p
			}
			a, p := in.Parse()
			if p != nil {
				return a, &itemError{p.Field, p.Message}
			}
			return a, nil
		})
	if err != nil {
		return err
	}
	if err := s.checkFunnelUpload(c, "activities", len(acts), func(i int) (string, string) { return acts[i].ID, acts[i].Rep }, places); err != nil {
		return err
	}
	res, err := s.store.IngestFunnelActivities(c.Request().Context(), acts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) ingestFunnelLeads(c echo.Context) error {
	leads, places, err := readFunnelUpload(s, c, funnelLeadColumns, funnelLeadOptional,
		func(r csvRecord) (store.FunnelLeadInput, *itemError) {
			in := store.FunnelLeadInput{ID: r.Get("id"), Rep: r.Get("rep"), CreatedAt: r.Get("created_at"),
				QualifiedAt: r.Get("qualified_at"), ConvertedAt: r.Get("converted_at")}
			if v := r.Get("amount"); v != "" {
				a, err := strconv.ParseFloat(v, 64)
				if err != nil {
					if msg := problem.LineError(v, problem.MaxName); msg != "" {
						return in, &itemError{"amount", msg}
					}
					return in, &itemError{"amount", fmt.Sprintf("%q is not a number: write it like 125000 or 125000.50", v)}
				}
				in.Amount = &a
			}
			return in, nil
		},
		func(in store.FunnelLeadInput) (store.FunnelLead, *itemError) {
			if p := checkTexts(line("id", in.ID), line("rep", in.Rep), line("created_at", in.CreatedAt),
				line("qualified_at", in.QualifiedAt), line("converted_at", in.ConvertedAt)); p != nil {
				return store.FunnelLead{}, p
			}
			l, p := in.Parse()
			if p != nil {
				return l, &itemError{p.Field, p.Message}
			}
			return l, nil
		})
	if err != nil {
		return err
	}
	if err := s.checkFunnelUpload(c, "leads", len(leads), func(i int) (string, string) { return leads[i].ID, leads[i].Rep }, places); err != nil {
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

// importPlaces remembers where each record of an upload was: the CSV line
// of record i, or (lines nil) its JSON index i.
type importPlaces struct{ lines []int }

func (p importPlaces) at(i int) funnelPlace {
	if p.lines != nil {
		return funnelPlace{line: p.lines[i], csv: true}
	}
	return funnelPlace{index: i}
}

// readFunnelUpload streams a CSV body (each line through fromCSV) or a
// JSON array of In (each item decoded strictly on its own so that a bad
// one is named by its index), and turns every record into its Out through
// parse as it arrives, so that only the parsed records are held. Either
// body may be as large as an import (see importLimits).
func readFunnelUpload[In, Out any](s *Server, c echo.Context, required, optional []string,
	fromCSV func(csvRecord) (In, *itemError), parse func(In) (Out, *itemError)) ([]Out, importPlaces, error) {
	var outs []Out
	var places importPlaces
	var err error
	if isCSV(c) {
		places.lines = []int{}
		err = s.readCSV(c, required, optional, func(r csvRecord) error {
			place := funnelPlace{line: r.Line, csv: true}
			in, p := fromCSV(r)
			if p != nil {
				return place.fail(p.field, p.message)
			}
			out, p := parse(in)
			if p != nil {
				return place.fail(p.field, p.message)
			}
			outs, places.lines = append(outs, out), append(places.lines, r.Line)
			return nil
		})
	} else {
		err = s.readJSONArray(c, func(i int, raw json.RawMessage) error {
			place := funnelPlace{index: i}
			var in In
			if p := decodeStrict(raw, &in); p != nil {
				return place.fail(p.field, p.message)
			}
			out, p := parse(in)
			if p != nil {
				return place.fail(p.field, p.message)
			}
			outs = append(outs, out)
			return nil
		})
	}
	if err != nil {
		return nil, places, err
	}
	if len(outs) == 0 {
		return nil, places, apiError(http.StatusBadRequest, codeBadRequest, "nothing to import: send a JSON array or a CSV file with the columns %s",
			strings.Join(append(slices.Clone(required), optional...), ","))
	}
	return outs, places, nil
}

// itemError is a JSON item that does not decode: the field and why.
type itemError struct{ field, message string }

// decodeStrict decodes one JSON item, refusing unknown fields and values
// of the wrong type.
func decodeStrict(raw json.RawMessage, v any) *itemError {
	if field, bad := invalidUTF8Field(raw); bad {
		return &itemError{field, "is not valid UTF-8 text"}
	}
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
// record; record(i) is the id and rep of record i of n.
func (s *Server) checkFunnelUpload(c echo.Context, what string, n int, record func(i int) (id, rep string), places importPlaces) error {
	seen := make(map[string]int, n)
	reps := make(map[string]bool)
	for i := range n {
		id, rep := record(i)
		if j, ok := seen[id]; ok {
			return places.at(i).fail("id", fmt.Sprintf("%q repeats the id of %s; send each of the %s once", id, places.at(j), what))
		}
		seen[id] = i
		reps[rep] = true
	}
	distinct := slices.Sorted(maps.Keys(reps))
	missing, err := s.store.MissingUsers(c.Request().Context(), distinct)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	for i := range n {
		if _, rep := record(i); slices.Contains(missing, rep) {
			return places.at(i).fail("rep", fmt.Sprintf("unknown rep %q: not an active user; create it first (POST /v1/users)", rep))
		}
	}
	return nil
}
