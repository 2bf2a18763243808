package api

import (
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

func TestReadCSV(t *testing.T) {
	s := &Server{cfg: Config{MaxBodyBytes: 1 << 20}}
	recs, err := s.readCSV(csvContext("id, Rep ,kind\na1,rita,call\na2,\"sam, jr\",visit\n"), []string{"id", "rep", "kind"}, []string{"note"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].Line != 3 || recs[1].Get("rep") != "sam, jr" || recs[0].Get("note") != "" {
		t.Fatalf("records %+v", recs)
	}
	for _, c := range []struct{ body, want string }{
		{"", "empty"},
		{"id,rep\n", "line 1, field kind: required column missing"},
		{"id,rep,kind,colour\n", "line 1, field colour: unknown column"},
		{"id,rep,kind\na1,rita\n", "line 2: malformed CSV"},
		{"id,rep,kind\na1,\"rita,call\n", "malformed CSV"},
	} {
		_, err := s.readCSV(csvContext(c.body), []string{"id", "rep", "kind"}, []string{"note"})
		var e *Error
		if !errors.As(err, &e) || e.Status >= 500 || !strings.Contains(e.Message, c.want) {
			t.Errorf("%q: %v, want a 4xx mentioning %q", c.body, err, c.want)
		}
	}
	if !isCSV(csvContext("")) {
		t.Error("text/csv not recognised")
	}
}
