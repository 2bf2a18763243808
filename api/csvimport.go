package api

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"dealflow/workflows/problem"
)

// Upload limits. An import (funnel activities and leads, coverage accounts
// and events) is read as a stream, one row at a time into the row's own
// struct, and refused with 413 as soon as it passes either limit, so what
// a request holds in memory is bounded by the rows it may store, not by
// the size of the file.
//
// 100,000 rows covers real use with room to spare: a sales team of 50
// logging 20 activities a day sends about 1,000 a day, a year of them is
// 250,000 and goes in three uploads; a coverage program names a few
// thousand accounts. The byte limit (32 times MaxBodyBytes, 32 MiB by
// default) lets 100,000 rows of generous width through.
const (
	// DefaultMaxImportRows is Config.MaxImportRows when it is 0.
	DefaultMaxImportRows = 100_000
	// importBodyFactor times MaxBodyBytes bounds an import's body.
	importBodyFactor = 32
)

// importLimits are the row and byte limits of one upload.
func (s *Server) importLimits() (rows int, bytes int64) {
	return s.cfg.MaxImportRows, s.cfg.MaxBodyBytes * importBodyFactor
}

// tooManyRows refuses an upload past the row limit.
func tooManyRows(limit int) error {
	return apiError(http.StatusRequestEntityTooLarge, codeTooLarge,
		"the upload has more than %d rows, the limit per upload; split it into uploads of at most %d rows (nothing was imported)", limit, limit)
}

// csvRecord is one data line of an uploaded CSV file. Its fields are read
// by column name through the header's index (shared by every record), so
// a record costs its fields and nothing per column name.
type csvRecord struct {
	Line   int
	cols   map[string]int
	fields []string
}

// Get returns the value of a column, trimmed; "" when absent.
func (r csvRecord) Get(column string) string {
	i, ok := r.cols[column]
	if !ok {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// lineError locates a problem in an import: the line (1 is the header; 0
// for a JSON body's element index, see Index) and the field.
type lineError struct {
	Line    int    `json:"line,omitempty"`
	Index   *int   `json:"index,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// importError rejects a whole import, naming where it went wrong, so a user
// fixes the file and sends it again; nothing of it was stored.
func importError(e lineError) error {
	where := fmt.Sprintf("line %d", e.Line)
	if e.Index != nil {
		where = fmt.Sprintf("item %d", *e.Index)
	}
	return apiError(http.StatusUnprocessableEntity, "invalid", "%s, field %s: %s; nothing was imported", where, e.Field, e.Message)
}

// isCSV reports whether the request body is CSV (text/csv).
func isCSV(c echo.Context) bool {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	return err == nil && mt == "text/csv"
}

// readCSV streams a CSV body whose first line names the columns, calling
// each for every data line in order; an error from each stops the read and
// is returned. Every required column must be present; columns outside
// required and optional are refused, so a typo in a header is not silently
// ignored. The record passed to each is only valid during the call (its
// field strings may be kept). More than the row limit is a 413.
func (s *Server) readCSV(c echo.Context, required, optional []string, each func(csvRecord) error) error {
	maxRows, limit := s.importLimits()
	body := http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	rd := csv.NewReader(body)
	rd.TrimLeadingSpace = true
	rd.ReuseRecord = true
	rd.FieldsPerRecord = 0 // every line as long as the header
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return apiError(http.StatusBadRequest, codeBadRequest, "the CSV body is empty: send a header line and data lines")
	}
	if err != nil {
		return csvSyntaxError(err, limit)
	}
	cols := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(required, h) && !slices.Contains(optional, h) {
			return importError(lineError{Line: 1, Field: h, Message: fmt.Sprintf("unknown column; the columns are %s", strings.Join(append(slices.Clone(required), optional...), ", "))})
		}
		cols[h] = i
	}
	for _, col := range required {
		if _, ok := cols[col]; !ok {
			return importError(lineError{Line: 1, Field: col, Message: "required column missing from the header"})
		}
	}
	for n := 0; ; n++ {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvSyntaxError(err, limit)
		}
		if maxRows > 0 && n >= maxRows {
			return tooManyRows(maxRows)
		}
		line, _ := rd.FieldPos(0)
		if err := each(csvRecord{Line: line, cols: cols, fields: rec}); err != nil {
			return err
		}
	}
}

func csvSyntaxError(err error, limit int64) error {
	var pe *csv.ParseError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return apiError(http.StatusRequestEntityTooLarge, codeTooLarge, "the CSV body exceeds %d bytes, the limit per upload; split it (nothing was imported)", limit)
	case errors.As(err, &pe):
		return apiError(http.StatusUnprocessableEntity, "invalid", "line %d: malformed CSV: %v; nothing was imported", pe.Line, pe.Err)
	}
	return apiError(http.StatusBadRequest, codeBadRequest, "unreadable CSV: %v", err)
}

// readJSONArray streams a JSON array body, calling each with every item
// (undecoded) and its index; an error from each stops the read and is
// returned. The raw item is only valid during the call. More than the row
// limit is a 413, a body past the byte limit too.
func (s *Server) readJSONArray(c echo.Context, each func(i int, raw json.RawMessage) error) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return apiError(http.StatusUnsupportedMediaType, codeUnsupportedType, "content type %q is not supported: send application/json (an array) or text/csv", ct)
		}
	}
	maxRows, limit := s.importLimits()
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, limit))
	tok, err := dec.Token()
	if err != nil {
		return decodeError(err, limit)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return apiError(http.StatusBadRequest, codeBadRequest, "the body must be an array, not %s", jsonKind(tok))
	}
	var raw json.RawMessage
	for i := 0; dec.More(); i++ {
		if maxRows > 0 && i >= maxRows {
			return tooManyRows(maxRows)
		}
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return decodeError(err, limit)
		}
		if err := each(i, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return decodeError(err, limit)
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err, limit)
		}
		return apiError(http.StatusBadRequest, codeBadRequest, "the body must hold a single JSON array")
	}
	return nil
}

// jsonKind names the JSON value a first token starts.
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "true or false"
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// textField is one text value of an imported row, checked by the shared
// text rules (valid UTF-8, no control characters, a length limit); a
// one-line field refuses tabs and line breaks too.
type textField struct {
	name, value string
	limit       int
	multiline   bool
}

// line is a one-line field of at most problem.MaxName characters.
func line(name, value string) textField {
	return textField{name: name, value: value, limit: problem.MaxName}
}

// checkTexts returns the first field that breaks the text rules and why.
func checkTexts(fields ...textField) *itemError {
	for _, f := range fields {
		msg := ""
		if f.multiline {
			msg = problem.TextError(f.value, f.limit)
		} else {
			msg = problem.LineError(f.value, f.limit)
		}
		if msg != "" {
			return &itemError{f.name, msg}
		}
	}
	return nil
}
