package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func csvContext(body string) echo.Context {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, "text/csv")
	return echo.New().NewContext(req, httptest.NewRecorder())
}

func jsonContext(body string) echo.Context {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, "application/json")
	return echo.New().NewContext(req, httptest.NewRecorder())
}

// csvLine is what a test keeps of a streamed record (the record itself is
// only valid during the callback).
type csvLine struct {
	line          int
	id, rep, note string
}

func collectCSV(s *Server, body string) ([]csvLine, error) {
	var out []csvLine
	err := s.readCSV(csvContext(body), []string{"id", "rep", "kind"}, []string{"note"}, func(r csvRecord) error {
		out = append(out, csvLine{r.Line, r.Get("id"), r.Get("rep"), r.Get("note")})
		return nil
	})
	return out, err
}

func wantAPIError(t *testing.T, what string, err error, status int, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != status || !strings.Contains(e.Message, want) {
		t.Errorf("%s: %v, want a %d mentioning %q", what, err, status, want)
	}
}

func TestReadCSV(t *testing.T) {
	s := &Server{cfg: Config{MaxBodyBytes: 1 << 20, MaxImportRows: 3}}
	recs, err := collectCSV(s, "id, Rep ,kind\na1,rita,call\na2,\"sam, jr\",visit\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].line != 3 || recs[1].rep != "sam, jr" || recs[0].id != "a1" || recs[0].note != "" {
		t.Fatalf("records %+v", recs)
	}
	for _, c := range []struct{ body, want string }{
		{"", "empty"},
		{"id,rep\n", "line 1, field kind: required column missing"},
		{"id,rep,kind,colour\n", "line 1, field colour: unknown column"},
		{"id,rep,kind\na1,rita\n", "line 2: malformed CSV"},
		{"id,rep,kind\na1,\"rita,call\n", "malformed CSV"},
	} {
		_, err := collectCSV(s, c.body)
		var e *Error
		if !errors.As(err, &e) || e.Status >= 500 || !strings.Contains(e.Message, c.want) {
			t.Errorf("%q: %v, want a 4xx mentioning %q", c.body, err, c.want)
		}
	}
	if !isCSV(csvContext("")) {
		t.Error("text/csv not recognised")
	}
}

// TestImportLimits: an upload past the row limit or the byte limit is a
// 413 naming the limit, whether CSV or JSON; an upload at the row limit
// passes.
func TestImportLimits(t *testing.T) {
	s := &Server{cfg: Config{MaxBodyBytes: 64, MaxImportRows: 3}} // 2 KiB a body
	if recs, err := collectCSV(s, "id,rep,kind\na,b,c\na,b,c\na,b,c\n"); err != nil || len(recs) != 3 {
		t.Errorf("3 rows at a limit of 3: %d rows, %v", len(recs), err)
	}
	_, err := collectCSV(s, "id,rep,kind\na,b,c\na,b,c\na,b,c\na,b,c\n")
	wantAPIError(t, "4 CSV rows", err, http.StatusRequestEntityTooLarge, "more than 3 rows")
	_, err = collectCSV(s, "id,rep,kind\n"+strings.Repeat("a,b,"+strings.Repeat("c", 1000)+"\n", 3))
	wantAPIError(t, "a 3 KiB CSV", err, http.StatusRequestEntityTooLarge, "exceeds 2048 bytes")

	count := func(body string) (int, error) {
		n := 0
		err := s.readJSONArray(jsonContext(body), func(int, json.RawMessage) error { n++; return nil })
		return n, err
	}
	if n, err := count(`[{"id":"a"},{"id":"b"},{"id":"c"}]`); err != nil || n != 3 {
		t.Errorf("3 items at a limit of 3: %d, %v", n, err)
	}
	_, err = count(`[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"}]`)
	wantAPIError(t, "4 JSON items", err, http.StatusRequestEntityTooLarge, "more than 3 rows")
	_, err = count(`[` + strings.Repeat(`"`+strings.Repeat("x", 1000)+`",`, 3) + `"x"]`)
	wantAPIError(t, "a 3 KiB array", err, http.StatusRequestEntityTooLarge, "exceeds 2048 bytes")
	_, err = count(`{"id":"a"}`)
	wantAPIError(t, "an object", err, http.StatusBadRequest, "must be an array, not an object")
	_, err = count(`[1] [2]`)
	wantAPIError(t, "two arrays", err, http.StatusBadRequest, "single JSON array")
	_, err = count(`[1, }`)
	wantAPIError(t, "broken", err, http.StatusBadRequest, "malformed JSON")
}

func TestCheckTexts(t *testing.T) {
	if p := checkTexts(line("id", "a1"), textField{name: "note", value: "two\nlines", limit: 10, multiline: true}); p != nil {
		t.Errorf("good texts refused: %+v", p)
	}
	for _, c := range []struct {
		f    textField
		want string
	}{
		{line("name", "a\x00b"), "control character U+0000"},
		{line("name", "a\nb"), "one line"},
		{line("name", "bad\xff"), "UTF-8"},
		{line("name", strings.Repeat("é", 201)), "limit is 200"},
		{textField{name: "note", value: "x\x1b[31m", limit: 10, multiline: true}, "U+001B"},
	} {
		p := checkTexts(line("id", "ok"), c.f)
		if p == nil || p.field != c.f.name || !strings.Contains(p.message, c.want) {
			t.Errorf("%q: %+v, want %s refused mentioning %q", c.f.value, p, c.f.name, c.want)
		}
	}
}
