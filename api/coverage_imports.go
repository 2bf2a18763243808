package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows/coverage"
)

// A program's accounts and events arrive as a JSON array or as CSV
// (Content-Type: text/csv) whose header names these columns. Either way an
// import is all or nothing: the first bad item is named by its CSV line or
// its JSON index (from 0) and its field, and nothing is stored.
var (
	accountColumns         = []string{"id", "name", "industry", "region"}
	accountOptionalColumns = []string{"owner"}
	eventColumns           = []string{"id", "account", "kind", "by"}
	eventOptionalColumns   = []string{"at", "stage", "solution", "round", "result", "note"}
)

func (s *Server) importCoverageAccounts(c echo.Context) error {
	// The program first: an upload to a program that does not exist is
	// refused before its body is read.
	id := c.Param("id")
	if _, err := s.store.GetProgram(c.Request().Context(), id); err != nil {
		return programError(err, id)
	}
	var accounts []coverage.Account
	var lines []int // each account's CSV line; nil for JSON
	add := func(a coverage.Account) *itemError {
		if p := checkTexts(line("id", a.ID), line("name", a.Name), line("industry", a.Industry),
			line("region", a.Region), line("owner", a.Owner)); p != nil {
			return p
		}
		accounts = append(accounts, a)
		return nil
	}
	var err error
	if isCSV(c) {
		lines = []int{}
		err = s.readCSV(c, accountColumns, accountOptionalColumns, func(r csvRecord) error {
			if p := add(coverage.Account{ID: r.Get("id"), Name: r.Get("name"),
				Industry: r.Get("industry"), Region: r.Get("region"), Owner: r.Get("owner")}); p != nil {
				return importError(lineError{Line: r.Line, Field: p.field, Message: p.message})
			}
			lines = append(lines, r.Line)
			return nil
		})
	} else {
		err = s.readJSONArray(c, func(i int, raw json.RawMessage) error {
			var a coverage.Account
			if err := s.decodeItem(i, raw, &a); err != nil {
				return err
			}
			if p := add(a); p != nil {
				return importError(lineError{Index: &i, Field: p.field, Message: p.message})
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	if len(accounts) == 0 {
		return apiError(http.StatusBadRequest, codeBadRequest, "no accounts: send a JSON array of {id, name, industry, region, owner} or a CSV file with the columns id,name,industry,region[,owner]")
	}
	res, err := s.store.ImportAccounts(c.Request().Context(), id, accounts)
	if err != nil {
		return importFailure(err, lines, id)
	}
	return c.JSON(http.StatusOK, res)
}

// decodeItem decodes item i of a JSON array strictly (no unknown fields,
// no value of the wrong type); a bad item is a 400 naming it.
func (s *Server) decodeItem(i int, raw json.RawMessage, v any) error {
	if e := utf8Error(raw); e != nil {
		e.Message = fmt.Sprintf("item %d: %s", i, e.Message)
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		_, limit := s.importLimits()
		err = decodeError(err, limit)
		var e *Error
		if errors.As(err, &e) {
			e.Message = fmt.Sprintf("item %d: %s", i, e.Message)
		}
		return err
	}
	return nil
}

// eventInput is one event of a JSON body; At is parsed here so that a bad
// time is reported with its index.
type eventInput struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	Kind     string `json:"kind"`
	By       string `json:"by"`
	At       string `json:"at"`
	Stage    string `json:"stage"`
	Solution string `json:"solution"`
	Round    int    `json:"round"`
	Result   string `json:"result"`
	Note     string `json:"note"`
}

func (in eventInput) event() coverage.Event {
	return coverage.Event{ID: in.ID, Account: in.Account, Kind: coverage.EventKind(in.Kind), By: in.By,
		Stage: in.Stage, Solution: in.Solution, Round: in.Round, Result: in.Result, Note: in.Note}
}

// maxEventNote bounds an event's note, in characters (the store's limit).
const maxEventNote = 2000

// eventAuthorship applies the rule on who posts which events of a program
// (coverage.CheckEventAuthor) while an upload is read: a caller who is on none
// of the program's teams and does not manage programs is refused before the
// body is read, and each event is checked as it arrives, so a forged one
// stops the upload at its line. The store checks the batch again inside the
// transaction that records it.
func (s *Server) eventAuthorship(c echo.Context, program *coverage.Program) (func(i int, e *coverage.Event) error, error) {
	caller := currentUser(c)
	manages := store.ManagesPrograms(caller)
	if !manages && !program.OnTeams(caller.ID) {
		return nil, apiError(http.StatusForbidden, "forbidden", "%s", coverage.CheckEventAuthor(program, caller.ID, manages, coverage.Event{}))
	}
	return func(_ int, e *coverage.Event) error {
		if msg := coverage.CheckEventAuthor(program, caller.ID, manages, *e); msg != "" {
			return &coverage.AuthorError{EventID: e.ID, Message: msg}
		}
		return nil
	}, nil
}

func (s *Server) recordCoverageEvents(c echo.Context) error {
	// The program and the caller's right to post to it first, before the
	// body is read.
	id := c.Param("id")
	program, err := s.store.GetProgram(c.Request().Context(), id)
	if err != nil {
		return programError(err, id)
	}
	authorship, err := s.eventAuthorship(c, program)
	if err != nil {
		return err
	}
	var events []coverage.Event
	var lines []int
	// add checks one event as it arrives and keeps it: a problem with a
	// field is the item's, an event the caller may not post refuses the
	// upload (403).
	add := func(i int, in eventInput) (*itemError, error) {
		if p := checkTexts(line("id", in.ID), line("account", in.Account), line("kind", in.Kind), line("by", in.By),
			line("at", in.At), line("stage", in.Stage), line("solution", in.Solution), line("result", in.Result),
			textField{name: "note", value: in.Note, limit: maxEventNote, multiline: true}); p != nil {
			return p, nil
		}
		e, msg := withTime(in)
		if msg != "" {
			return &itemError{"at", msg}, nil
		}
		if err := authorship(i, &e); err != nil {
			return nil, err
		}
		events = append(events, e)
		return nil, nil
	}
	if isCSV(c) {
		lines = []int{}
		err = s.readCSV(c, eventColumns, eventOptionalColumns, func(r csvRecord) error {
			in := eventInput{ID: r.Get("id"), Account: r.Get("account"), Kind: r.Get("kind"), By: r.Get("by"), At: r.Get("at"),
				Stage: r.Get("stage"), Solution: r.Get("solution"), Result: r.Get("result"), Note: r.Get("note")}
			if v := r.Get("round"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return importError(lineError{Line: r.Line, Field: "round", Message: strconv.Quote(v) + " is not a whole number"})
				}
				in.Round = n
			}
			if p, err := add(len(events), in); err != nil {
				return err
			} else if p != nil {
				return importError(lineError{Line: r.Line, Field: p.field, Message: p.message})
			}
			lines = append(lines, r.Line)
			return nil
		})
	} else {
		err = s.readJSONArray(c, func(i int, raw json.RawMessage) error {
			var in eventInput
			if err := s.decodeItem(i, raw, &in); err != nil {
				return err
			}
			if p, err := add(i, in); err != nil {
				return err
			} else if p != nil {
				return importError(lineError{Index: &i, Field: p.field, Message: p.message})
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	if len(events) == 0 {
		return apiError(http.StatusBadRequest, codeBadRequest, "no events: send a JSON array of events or a CSV file with the columns id,account,kind,by[,at,stage,solution,round,result,note]")
	}
	res, err := s.store.RecordCoverageEvents(c.Request().Context(), id, currentUser(c), events)
	if err != nil {
		return importFailure(err, lines, id)
	}
	return c.JSON(http.StatusOK, res)
}

// withTime converts an input event, parsing its time (empty means now);
// the message says what is wrong with a bad time.
func withTime(in eventInput) (coverage.Event, string) {
	e := in.event()
	if in.At == "" {
		return e, ""
	}
	at, err := time.Parse(time.RFC3339, in.At)
	if err != nil {
		return e, strconv.Quote(in.At) + " is not an RFC 3339 time such as 2026-03-02T10:00:00+08:00"
	}
	e.At = at
	return e, ""
}

// importFailure turns the store's verdict on an import into a 422 naming
// the CSV line (lines[i]) or the JSON item (i) and the field.
func importFailure(err error, lines []int, programID string) error {
	var ie *coverage.ImportError
	if !errors.As(err, &ie) {
		return programError(err, programID)
	}
	if lines != nil {
		return importError(lineError{Line: lines[ie.Index], Field: ie.Field, Message: ie.Message})
	}
	return importError(lineError{Index: &ie.Index, Field: ie.Field, Message: ie.Message})
}
