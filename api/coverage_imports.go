package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
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
	var accounts []store.CoverageAccount
	var lines []int // each account's CSV line; nil for JSON
	if isCSV(c) {
		recs, err := s.readCSV(c, accountColumns, accountOptionalColumns)
		if err != nil {
			return err
		}
		for _, r := range recs {
			accounts = append(accounts, store.CoverageAccount{ID: r.Get("id"), Name: r.Get("name"),
				Industry: r.Get("industry"), Region: r.Get("region"), Owner: r.Get("owner")})
			lines = append(lines, r.Line)
		}
	} else if err := s.bind(c, &accounts); err != nil {
		return err
	}
	if len(accounts) == 0 {
		return apiError(http.StatusBadRequest, codeBadRequest, "no accounts: send a JSON array of {id, name, industry, region, owner} or a CSV file with the columns id,name,industry,region[,owner]")
	}
	res, err := s.store.ImportAccounts(c.Request().Context(), c.Param("id"), accounts)
	if err != nil {
		return importFailure(err, lines, c.Param("id"))
	}
	return c.JSON(http.StatusOK, res)
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

func (in eventInput) event() store.CoverageEvent {
	return store.CoverageEvent{ID: in.ID, Account: in.Account, Kind: store.CoverageEventKind(in.Kind), By: in.By,
		Stage: in.Stage, Solution: in.Solution, Round: in.Round, Result: in.Result, Note: in.Note}
}

func (s *Server) recordCoverageEvents(c echo.Context) error {
	var events []store.CoverageEvent
	var lines []int
	if isCSV(c) {
		recs, err := s.readCSV(c, eventColumns, eventOptionalColumns)
		if err != nil {
			return err
		}
		for _, r := range recs {
			in := eventInput{ID: r.Get("id"), Account: r.Get("account"), Kind: r.Get("kind"), By: r.Get("by"), At: r.Get("at"),
				Stage: r.Get("stage"), Solution: r.Get("solution"), Result: r.Get("result"), Note: r.Get("note")}
			if v := r.Get("round"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return importError(lineError{Line: r.Line, Field: "round", Message: strconv.Quote(v) + " is not a whole number"})
				}
				in.Round = n
			}
			e, msg := withTime(in)
			if msg != "" {
				return importError(lineError{Line: r.Line, Field: "at", Message: msg})
			}
			events, lines = append(events, e), append(lines, r.Line)
		}
	} else {
		var ins []eventInput
		if err := s.bind(c, &ins); err != nil {
			return err
		}
		for i, in := range ins {
			e, msg := withTime(in)
			if msg != "" {
				return importError(lineError{Index: &i, Field: "at", Message: msg})
			}
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		return apiError(http.StatusBadRequest, codeBadRequest, "no events: send a JSON array of events or a CSV file with the columns id,account,kind,by[,at,stage,solution,round,result,note]")
	}
	res, err := s.store.RecordCoverageEvents(c.Request().Context(), c.Param("id"), currentUser(c), events)
	if err != nil {
		return importFailure(err, lines, c.Param("id"))
	}
	return c.JSON(http.StatusOK, res)
}

// withTime converts an input event, parsing its time (empty means now);
// the message says what is wrong with a bad time.
func withTime(in eventInput) (store.CoverageEvent, string) {
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
	var ie *store.CoverageImportError
	if !errors.As(err, &ie) {
		return programError(err, programID)
	}
	if lines != nil {
		return importError(lineError{Line: lines[ie.Index], Field: ie.Field, Message: ie.Message})
	}
	return importError(lineError{Index: &ie.Index, Field: ie.Field, Message: ie.Message})
}
