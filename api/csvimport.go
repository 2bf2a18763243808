package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// csvRecord is one data line of an uploaded CSV file, by column name.
type csvRecord struct {
	Line   int
	fields map[string]string
}

// Get returns the value of a column, trimmed; "" when absent.
func (r csvRecord) Get(column string) string { return strings.TrimSpace(r.fields[column]) }

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

// readCSV reads a CSV body whose first line names the columns. Every
// required column must be present; columns outside required and optional
// are refused, so a typo in a header is not silently ignored.
func (s *Server) readCSV(c echo.Context, required, optional []string) ([]csvRecord, error) {
	body := http.MaxBytesReader(c.Response(), c.Request().Body, s.cfg.MaxBodyBytes*32)
	rd := csv.NewReader(body)
	rd.TrimLeadingSpace = true
	rd.FieldsPerRecord = 0 // every line as long as the header
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, apiError(http.StatusBadRequest, codeBadRequest, "the CSV body is empty: send a header line and data lines")
	}
	if err != nil {
		return nil, csvSyntaxError(err, s.cfg.MaxBodyBytes*32)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(header[i]))
		if !slices.Contains(required, header[i]) && !slices.Contains(optional, header[i]) {
			return nil, importError(lineError{Line: 1, Field: header[i], Message: fmt.Sprintf("unknown column; the columns are %s", strings.Join(append(slices.Clone(required), optional...), ", "))})
		}
	}
	for _, col := range required {
		if !slices.Contains(header, col) {
			return nil, importError(lineError{Line: 1, Field: col, Message: "required column missing from the header"})
		}
	}
	var out []csvRecord
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, csvSyntaxError(err, s.cfg.MaxBodyBytes*32)
		}
		line, _ := rd.FieldPos(0)
		r := csvRecord{Line: line, fields: make(map[string]string, len(header))}
		for i, col := range header {
			r.fields[col] = rec[i]
		}
		out = append(out, r)
	}
}

func csvSyntaxError(err error, limit int64) error {
	var pe *csv.ParseError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return apiError(http.StatusRequestEntityTooLarge, codeTooLarge, "the CSV body exceeds %d bytes; split it", limit)
	case errors.As(err, &pe):
		return apiError(http.StatusUnprocessableEntity, "invalid", "line %d: malformed CSV: %v; nothing was imported", pe.Line, pe.Err)
	}
	return apiError(http.StatusBadRequest, codeBadRequest, "unreadable CSV: %v", err)
}
