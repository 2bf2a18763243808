package console

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/workflows/coverage"
	"dealflow/workflows/funnel"
)

func testConsole(t *testing.T, key []byte, now time.Time) *Console {
	t.Helper()
	c, err := New(Config{SessionKey: key, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSessionSealing(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	key := bytes.Repeat([]byte{7}, 32)
	k, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	in := &session{Token: "dfl_secret", User: "ann", Name: "Ann", Roles: []string{"approver"}, CSRF: "c1", Expires: now.Add(time.Hour)}
	sealed, err := k.seal(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "dfl_secret") || strings.Contains(sealed, base64.RawURLEncoding.EncodeToString([]byte("dfl_secret"))) {
		t.Errorf("the sealed cookie shows the token: %s", sealed)
	}
	out, err := k.open(sealed, now)
	if err != nil || out.Token != "dfl_secret" || out.User != "ann" || out.CSRF != "c1" || !out.HasRole("approver") || out.HasRole("pmo") {
		t.Fatalf("open: %+v, %v", out, err)
	}
	again, _ := k.seal(in)
	if again == sealed {
		t.Error("two seals of one session are equal: the nonce is not fresh")
	}

	// Expired, altered, another key, garbage: all refused alike.
	if _, err := k.open(sealed, now.Add(time.Hour)); err != errBadSession {
		t.Errorf("expired session opened: %v", err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	raw[len(raw)-1] ^= 1
	if _, err := k.open(base64.RawURLEncoding.EncodeToString(raw), now); err != errBadSession {
		t.Errorf("altered session opened: %v", err)
	}
	other, _ := newSealer(bytes.Repeat([]byte{8}, 32))
	if _, err := other.open(sealed, now); err != errBadSession {
		t.Errorf("session opened under another key: %v", err)
	}
	for _, junk := range []string{"", "x", "!!!", base64.RawURLEncoding.EncodeToString([]byte("short"))} {
		if _, err := k.open(junk, now); err != errBadSession {
			t.Errorf("open(%q): %v", junk, err)
		}
	}
	// Two servers given the same key (DEALFLOW_SESSION_KEY) open each
	// other's sessions.
	a, b := testConsole(t, key, now), testConsole(t, key, now)
	if v, err := a.sealer.seal(in); err != nil {
		t.Fatal(err)
	} else if got, err := b.sealer.open(v, now); err != nil || got.Token != in.Token {
		t.Errorf("a session sealed by one server does not open on another with the same key: %v", err)
	}
	if _, err := newSealer([]byte("too short")); err == nil {
		t.Error("a 9-byte key was accepted")
	}
	if _, err := New(Config{SessionKey: []byte("too short")}); err == nil {
		t.Error("New accepted a 9-byte session key")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	c := testConsole(t, nil, time.Now())
	for _, tc := range []struct {
		name   string
		req    *http.Request
		secure bool
	}{
		{"plain HTTP", httptest.NewRequest("GET", "http://x/console/", nil), false},
		{"behind a TLS proxy", func() *http.Request {
			r := httptest.NewRequest("GET", "http://x/console/", nil)
			r.Header.Set("X-Forwarded-Proto", "https")
			return r
		}(), true},
	} {
		w := httptest.NewRecorder()
		if err := c.writeSession(w, tc.req, newAnonymous(time.Now())); err != nil {
			t.Fatal(err)
		}
		ck := w.Result().Cookies()[0]
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tc.secure || ck.Path != "/console/" {
			t.Errorf("%s: cookie %+v", tc.name, ck)
		}
	}
}

// TestCSRF checks the guard alone: a POST passes only with its session's
// token; other methods are not checked.
func TestCSRF(t *testing.T) {
	now := time.Now()
	c := testConsole(t, nil, now)
	s := newAnonymous(now)
	cookie, _ := c.sealer.seal(s)
	other, _ := c.sealer.seal(newAnonymous(now))
	e := echo.New()
	reached := false
	h := c.checkCSRF(func(echo.Context) error { reached = true; return nil })
	for _, tc := range []struct {
		name, method, cookie, token string
		pass                        bool
	}{
		{"GET needs no token", "GET", "", "", true},
		{"POST with its token", "POST", cookie, s.CSRF, true},
		{"POST without a token", "POST", cookie, "", false},
		{"POST with a wrong token", "POST", cookie, "guess", false},
		{"POST with another session's token", "POST", other, s.CSRF, false},
		{"POST without a session", "POST", "", s.CSRF, false},
	} {
		reached = false
		form := url.Values{"csrf": {tc.token}}
		req := httptest.NewRequest(tc.method, "/console/deals/x/pause", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tc.cookie})
		}
		rec := httptest.NewRecorder()
		if err := h(e.NewContext(req, rec)); err != nil {
			t.Fatal(err)
		}
		if reached != tc.pass {
			t.Errorf("%s: reached the handler %v, want %v", tc.name, reached, tc.pass)
		}
		if !tc.pass && (rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "security token does not match")) {
			t.Errorf("%s: %d %s", tc.name, rec.Code, rec.Body)
		}
	}
}

func TestSafeNext(t *testing.T) {
	c := testConsole(t, nil, time.Now())
	for in, want := range map[string]string{
		"/console/deals/acme":     "/console/deals/acme",
		"/console/deals?q=a":      "/console/deals?q=a",
		"https://evil.example/":   "/console/inbox",
		"//evil.example/console/": "/console/inbox",
		"/console/login":          "/console/inbox",
		"/v1/me":                  "/console/inbox",
		"":                        "/console/inbox",
	} {
		if got := c.safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBarChart(t *testing.T) {
	svg := string(barChart(`Pace <of> "team" & reps`, []bar{
		{Label: "Team", Value: 12.6, Text: "12.6 / 11.4", Target: 11.4, HasTarget: true},
		{Label: "<script>alert(1)</script>", Value: 2.8, Text: "2.8", Target: 5.7, HasTarget: true, Behind: true},
		{Label: "broken", Value: math.NaN(), Text: "—", Target: math.Inf(1), HasTarget: true},
	}))
	// Well-formed XML: every label escaped, nothing injected.
	dec := xml.NewDecoder(strings.NewReader(svg))
	var rects, lines, texts int
	var widths []string
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed: %v\n%s", err, svg)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "script":
				t.Fatalf("a label became markup: %s", svg)
			case "rect":
				rects++
				for _, a := range se.Attr {
					if a.Name.Local == "width" && strings.HasPrefix(attr(se, "class"), "bar") {
						widths = append(widths, a.Value)
					}
				}
			case "line":
				lines++
			case "text":
				texts++
			}
		}
	}
	if rects != 6 || lines != 3 || texts != 6 {
		t.Errorf("rects %d (want 6), target lines %d (want 3), texts %d (want 6)\n%s", rects, lines, texts, svg)
	}
	// The longest value fills the bar area; the others are in proportion;
	// a NaN is drawn as nothing.
	if len(widths) != 3 || widths[0] != "290.0" || widths[1] != "64.4" || widths[2] != "0.0" {
		t.Errorf("bar widths %v, want [290.0 64.4 0.0]", widths)
	}
	if !strings.Contains(svg, `class="bar behind"`) || !strings.Contains(svg, "&lt;script&gt;") || !strings.Contains(svg, "Pace &lt;of&gt; &#34;team&#34; &amp; reps") {
		t.Errorf("missing the behind bar or escaped text:\n%s", svg)
	}
	if got := string(barChart("Nothing", nil)); !strings.Contains(got, "nothing to chart yet") {
		t.Errorf("empty chart: %s", got)
	}
	// All zeros draw empty bars, not a division by zero.
	if got := string(barChart("Zeros", []bar{{Label: "a", Text: "0"}})); !strings.Contains(got, `width="0.0"`) {
		t.Errorf("zero chart: %s", got)
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{fmtMoney(1200000), "1,200,000"}, {fmtMoney(-1234.6), "-1,235"}, {fmtMoney(999), "999"},
		{fmtNum(11.428571), "11.4"}, {fmtNum(240), "240"}, {fmtPct(0.5), "50.0%"},
		{humanize("in_review"), "In review"}, {humanize("needs-analysis"), "Needs analysis"},
		{fmtTime(time.Time{}), "—"}, {fmtTime((*time.Time)(nil)), "—"},
		{fmtTime(time.Date(2026, 3, 2, 10, 4, 0, 0, time.FixedZone("CST", 8*3600))), "2026-03-02 02:04 UTC"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := strings.Join(lines(" a \n\n b\r\n"), "|"); got != "a|b" {
		t.Errorf("lines: %q", got)
	}
	if got := strings.Join(list("ann, abe,,"), "|"); got != "ann|abe" {
		t.Errorf("list: %q", got)
	}
}

// TestEveryPageParses keeps each template executable: a template error
// would otherwise show only when its page is first opened.
func TestEveryPageParses(t *testing.T) {
	p, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"login", "error", "inbox", "deals", "deal", "start", "reports", "funnel", "coverage"} {
		if p.byName[name] == nil {
			t.Errorf("no page %s", name)
		}
	}
}

func TestReportCharts(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	fr := &funnel.Report{
		ReportTarget: funnel.ReportTarget{Assumptions: funnel.Assumptions{RevenueTarget: 1200000}},
		Counts:       funnel.Counts{Activities: 126, Leads: 3, Qualified: 2, Conversions: 1, Revenue: 180000},
		Figures: funnel.Figures{LeadsNeeded: 60, ActivitiesNeeded: 240, ActivitiesPerDayNeeded: 11.4,
			RepActivitiesPerDayNeeded: 5.7, ActivitiesPerDay: f(12.6), ProjectedRevenue: f(378000)},
		Reps: funnel.RepReports{{Rep: "rita", ActivitiesPerDay: f(9.8)}, {Rep: "sam", ActivitiesPerDay: f(2.8), BelowPace: true}},
	}
	charts := funnelCharts(fr)
	if len(charts) != 3 {
		t.Fatalf("%d funnel charts, want 3", len(charts))
	}
	pace := string(charts[0].SVG)
	if !strings.Contains(pace, ">sam<") || strings.Count(pace, `class="bar behind"`) != 1 || !strings.Contains(pace, "12.6 / 11.4") {
		t.Errorf("pace chart: one bar behind (sam), the team's pace against the need:\n%s", pace)
	}
	if rev := string(charts[1].SVG); !strings.Contains(rev, "180,000") || !strings.Contains(rev, "378,000") || strings.Count(rev, `class="bar behind"`) != 1 {
		t.Errorf("revenue chart: the projection falls short of the target:\n%s", rev)
	}
	// A report before any working day: no pace yet, no projection.
	empty := &funnel.Report{Reps: funnel.RepReports{{Rep: "rita"}}}
	if got := string(funnelCharts(empty)[0].SVG); !strings.Contains(got, "— / 0") {
		t.Errorf("pace without a working day:\n%s", got)
	}

	cr := &coverage.Report{
		Counts:    coverage.Counts{Accounts: 4, AccountsCovered: 2, AccountsSigned: 1},
		Rates:     coverage.Rates{CoverageRate: f(0.5), SigningRate: f(0.25)},
		Targets:   coverage.ReportTargets{CoverageRate: 0.8, SigningRate: 0.1, FirstPassRate: 0.6},
		Untouched: coverage.Untouched{Total: 2},
	}
	rates := string(coverageCharts(cr)[0].SVG)
	// Coverage is behind its target, signing ahead, first pass unknown.
	if strings.Count(rates, `class="bar behind"`) != 1 || !strings.Contains(rates, "50.0%") || !strings.Contains(rates, "25.0%") || strings.Count(rates, "—") != 3 {
		t.Errorf("rates chart:\n%s", rates)
	}
}

// TestRoutesStayUnderConsole keeps the console out of the API's space:
// openapi.yaml documents every route the API itself serves, and the
// console adds only "/" (a redirect) and routes under /console.
func TestRoutesStayUnderConsole(t *testing.T) {
	c := testConsole(t, nil, time.Now())
	e := echo.New()
	c.Mount(e, http.NotFoundHandler())
	n := 0
	for _, r := range e.Routes() {
		if r.Path != "/" && r.Path != Base && !strings.HasPrefix(r.Path, Base+"/") {
			t.Errorf("%s %s is outside %s", r.Method, r.Path, Base)
		}
		n++
	}
	if n < 15 {
		t.Errorf("only %d console routes", n)
	}
}
