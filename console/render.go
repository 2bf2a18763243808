package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds each page's template, parsed once at start: the layout
// (templates/layout.html) with that page's "content".
type pages struct{ byName map[string]*template.Template }

func loadPages() (*pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title string
	// Section is the menu entry to highlight.
	Section string
	Base    string
	S       *session
	// Notice is a confirmation after a successful form; Error what went
	// wrong, as the API said it.
	Notice string
	Error  *apiError
	Data   any
}

// render writes page name with status.
func (c *Console) render(ec echo.Context, status int, name string, v *view) error {
	t, ok := c.pages.byName[name]
	if !ok {
		return c.plainError(ec, fmt.Errorf("console: no page %q", name))
	}
	v.Base = c.base
	if v.S == nil {
		v.S = c.ensureSession(ec)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return c.plainError(ec, err)
	}
	return ec.HTMLBlob(status, buf.Bytes())
}

// ensureSession returns the browser's session, starting an anonymous one
// (for the CSRF token of the sign-in form) when it has none.
func (c *Console) ensureSession(ec echo.Context) *session {
	if s := c.readSession(ec.Request()); s != nil {
		return s
	}
	s := newAnonymous(c.now())
	if err := c.writeSession(ec.Response(), ec.Request(), s); err != nil {
		c.log.ErrorContext(ec.Request().Context(), "console: sealing a session", "error", err)
	}
	return s
}

// plainError answers when a page itself cannot be rendered: a bug, logged.
func (c *Console) plainError(ec echo.Context, err error) error {
	c.log.ErrorContext(ec.Request().Context(), "console: rendering a page", "error", err, "path", ec.Request().URL.Path)
	return ec.String(http.StatusInternalServerError, "The console could not show this page; the server log has the details.")
}

// renderError shows msg on an error page with status.
func (c *Console) renderError(ec echo.Context, s *session, status int, msg string) error {
	return c.render(ec, status, "error", &view{Title: http.StatusText(status), S: s,
		Error: &apiError{Status: status, Message: msg}})
}

// fail shows an API error as a page. A token that stopped working (revoked
// since sign-in) ends the session and asks to sign in again.
func (c *Console) fail(ec echo.Context, s *session, e *apiError) error {
	if e.Status == http.StatusUnauthorized && s.signedIn() {
		c.clearSession(ec.Response(), ec.Request())
		return c.render(ec, http.StatusUnauthorized, "login", &view{Title: "Sign in", S: newAnonymousFor(c, ec),
			Error: &apiError{Status: e.Status, Message: "Your token no longer works (" + e.Message + "). Sign in with a valid token."}})
	}
	return c.render(ec, e.Status, "error", &view{Title: http.StatusText(e.Status), S: s, Error: e})
}

// newAnonymousFor starts a fresh anonymous session and sets its cookie.
func newAnonymousFor(c *Console, ec echo.Context) *session {
	s := newAnonymous(c.now())
	if err := c.writeSession(ec.Response(), ec.Request(), s); err != nil {
		c.log.ErrorContext(ec.Request().Context(), "console: sealing a session", "error", err)
	}
	return s
}

// static serves the embedded stylesheet.
func (c *Console) static(ec echo.Context) error {
	name := path.Clean("static/" + ec.Param("*"))
	raw, err := staticFS.ReadFile(name)
	if err != nil {
		return c.renderError(ec, nil, http.StatusNotFound, "There is no such file.")
	}
	ec.Response().Header().Set("Cache-Control", "public, max-age=300")
	ctype := "application/octet-stream"
	if strings.HasSuffix(name, ".css") {
		ctype = "text/css; charset=utf-8"
	}
	return ec.Blob(http.StatusOK, ctype, raw)
}

func queryEscape(s string) string { return url.QueryEscape(s) }

// funcs are the helpers templates use; all output passes html/template's
// escaping.
var funcs = template.FuncMap{
	"time":     fmtTime,
	"date":     fmtDate,
	"money":    fmtMoney,
	"pct":      fmtPct,
	"num":      fmtNum,
	"human":    humanize,
	"join":     strings.Join,
	"esc":      url.PathEscape,
	"contains": func(list []string, s string) bool { return containsString(list, s) },
	"add":      func(a, b int) int { return a + b },
	"list":     strings.Fields,
	"fptr": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return fmtNum(*p)
	},
	"pptr": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return fmtPct(*p)
	},
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fmtTime shows a time in UTC to the minute; "—" for none.
func fmtTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "—"
		}
		t = *x
	}
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02")
}

// fmtMoney groups thousands: 1200000 → "1,200,000".
func fmtMoney(v float64) string {
	neg := v < 0
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtNum shows a figure with at most one decimal.
func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmtMoney(v)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtPct shows a share (0.25) as a percentage ("25.0%").
func fmtPct(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" }

// humanize turns an identifier ("in_review", "needs-analysis") into words.
func humanize(v any) string {
	s := strings.NewReplacer("_", " ", "-", " ").Replace(fmt.Sprint(v))
	if s == "pmo" {
		return "PMO"
	}
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
