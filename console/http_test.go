package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/api/apitest"
)

// browserless is a plain HTTP client with a cookie jar: the console as a
// browser without JavaScript sees it.
type browserless struct {
	t    *testing.T
	base string
	c    *http.Client
	// last page's CSRF token
	csrf string
}

func newBrowserless(t *testing.T, s *stack) *browserless {
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, base: s.Server.URL, c: &http.Client{Jar: jar}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page (following redirects) and remembers its CSRF token.
func (b *browserless) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

func (b *browserless) read(resp *http.Response) (int, string) {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	if m := csrfInput.FindStringSubmatch(body); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, body
}

// post sends a form with the current CSRF token (unless form has one).
func (b *browserless) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

func (b *browserless) signIn(token string) {
	b.t.Helper()
	b.get("/console/login")
	status, body := b.post("/console/login", url.Values{"token": {token}})
	if status != http.StatusOK || !strings.Contains(body, "My inbox") {
		b.t.Fatalf("sign-in: %d\n%s", status, body)
	}
}

// TestConsoleWithoutBrowser drives the console as a client without
// JavaScript: sign-in and its errors, CSRF, the deal list and page, a
// refused action, starting a deal and changing its plan, reports with
// their charts, and what a revoked token does.
func TestConsoleWithoutBrowser(t *testing.T) {
	s := newStack(t)
	s.team()
	s.startDeal("initech-erp", "Initech ERP rollout", "Initech")

	b := newBrowserless(t, s)
	// The root and the console's root lead to sign-in.
	status, body := b.get("/")
	if status != http.StatusOK || !contains(body, "Sign in", `name="token"`) {
		t.Fatalf("/ → %d\n%s", status, body)
	}
	// A page that needs a session redirects to sign-in, and back after.
	if status, body = b.get("/console/deals/initech-erp"); !contains(body, `name="next" value="/console/deals/initech-erp"`) {
		t.Fatalf("deal page signed out: %d, no way back to it\n%s", status, body)
	}

	t.Run("sign-in errors", func(t *testing.T) {
		b.t, s.T = t, t
		status, body := b.post("/console/login", url.Values{"token": {"dfl_not-a-token"}})
		if status != http.StatusUnauthorized || !contains(body, "That token does not sign you in", "invalid token") {
			t.Errorf("bad token: %d\n%s", status, body)
		}
		status, body = b.post("/console/login", url.Values{"token": {""}})
		if status != http.StatusBadRequest || !contains(body, "Enter your API token") {
			t.Errorf("empty token: %d\n%s", status, body)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		b.t, s.T = t, t
		// The sign-in form is protected too.
		status, body := b.post("/console/login", url.Values{"token": {s.Tokens["pat"]}, "csrf": {"forged"}})
		if status != http.StatusForbidden || !contains(body, "security token does not match") {
			t.Errorf("sign-in with a forged CSRF token: %d\n%s", status, body)
		}
		b.signIn(s.Tokens["pat"])
		status, body = b.post("/console/deals/initech-erp/pause", url.Values{"reason": {"forged"}, "csrf": {""}})
		if status != http.StatusForbidden || !contains(body, "security token does not match") {
			t.Errorf("POST without a CSRF token: %d\n%s", status, body)
		}
		var d struct {
			Status string `json:"status"`
		}
		s.Succeeds("pat", "GET", "/v1/deals/initech-erp", nil, &d)
		if d.Status != "active" {
			t.Errorf("a refused form changed the deal: status %s", d.Status)
		}
	})

	t.Run("deal list and page", func(t *testing.T) {
		b.t, s.T = t, t
		// The list and the audit trail read the read model, which follows
		// the workflow by a moment.
		var pageStatus int
		var page string
		apitest.Eventually(t, "the deal in the list and its audit trail", func() bool {
			_, list := b.get("/console/deals?status=open")
			pageStatus, page = b.get("/console/deals/initech-erp")
			return contains(list, "Initech ERP rollout", `href="/console/deals/initech-erp"`) && contains(page, "Milestone activated")
		})
		status, body := pageStatus, page
		if status != http.StatusOK || !contains(body, "Seller's milestones", "Buyer's stage", "Audit trail",
			`href="http://temporal-ui.test/namespaces/default/workflows/deal%2Finitech-erp"`, `id="m-prospect"`, "Deal started") {
			t.Errorf("deal page: %d\n%s", status, body)
		}
		status, body = b.get("/console/deals?overdue=maybe")
		if status != http.StatusBadRequest || !contains(body, "overdue must be true or false") {
			t.Errorf("bad filter: %d\n%s", status, body)
		}
		status, body = b.get("/console/deals/initech-erp?audit_before=2")
		if status != http.StatusOK || !contains(body, "<td>1</td>", "Newest events") || strings.Contains(body, "<td>2</td>") {
			t.Errorf("the audit trail before event 2: %d\n%s", status, body)
		}
		status, body = b.get("/console/deals/initech-erp?audit_before=soon")
		if status != http.StatusBadRequest || !contains(body, "audit_before must be an event number") {
			t.Errorf("bad audit_before: %d\n%s", status, body)
		}
		status, body = b.get("/console/deals/no-such-deal")
		if status != http.StatusNotFound || !contains(body, `no deal with id &#34;no-such-deal&#34;`) {
			t.Errorf("missing deal: %d\n%s", status, body)
		}
		status, body = b.get("/console/no/such/page")
		if status != http.StatusNotFound || !contains(body, "There is no such page") {
			t.Errorf("unknown page: %d\n%s", status, body)
		}
	})

	t.Run("refused action", func(t *testing.T) {
		b.t, s.T = t, t
		b.get("/console/deals/initech-erp")
		// Pat (the PMO) may submit, but not with half the checklist.
		status, body := b.post("/console/deals/initech-erp/milestones/prospect/submit", url.Values{"item": {"Customer background researched"}})
		if status != http.StatusUnprocessableEntity || !contains(body, "checklist incomplete for prospect", `id="timeline"`) {
			t.Errorf("incomplete checklist: %d\n%s", status, body)
		}
		// Pat is not a reviewer.
		status, body = b.post("/console/deals/initech-erp/milestones/prospect/review", url.Values{"decision": {"approve"}})
		if status < 400 || status >= 500 || !contains(body, `class="error"`) {
			t.Errorf("review by a non-reviewer: %d\n%s", status, body)
		}
	})

	t.Run("start a deal and change its plan", func(t *testing.T) {
		b.t, s.T = t, t
		status, body := b.get("/console/deals/new")
		if status != http.StatusOK || !contains(body, `value="project"`, "key-account") {
			t.Fatalf("start form: %d\n%s", status, body)
		}
		form := url.Values{"id": {"umbrella-pilot"}, "name": {"Umbrella pilot"}, "customer": {"Umbrella"}, "amount": {"lots"},
			"currency": {"CNY"}, "template": {"project"}, "pmo": {"pat"}, "commercial": {"cora"}, "solution": {"sol"},
			"approvers": {"ann, abe"}, "director": {"dina"}}
		status, body = b.post("/console/deals", form)
		if status != http.StatusUnprocessableEntity || !contains(body, "The amount must be a number", `value="Umbrella pilot"`) {
			t.Errorf("bad amount: %d\n%s", status, body)
		}
		form.Set("amount", "80,000")
		form.Set("director", "")
		form.Set("approvers", "")
		status, body = b.post("/console/deals", form)
		if status != http.StatusUnprocessableEntity || !contains(body, "problems to fix", "<code>milestones[solution-design].review.reviewers</code>", "set team.director") {
			t.Errorf("a team without approvers or director: %d\n%s", status, body)
		}
		form.Set("director", "dina")
		form.Set("approvers", "ann, abe")
		form.Set("commercial", "zed")
		status, body = b.post("/console/deals", form)
		if status != http.StatusUnprocessableEntity || !contains(body, "unknown or disabled users: zed") {
			t.Errorf("unknown user: %d\n%s", status, body)
		}
		form.Set("commercial", "cora")
		status, body = b.post("/console/deals", form)
		if status != http.StatusOK || !contains(body, "The deal is started.", "Umbrella pilot", "80,000 CNY") {
			t.Fatalf("start: %d\n%s", status, body)
		}
		status, body = b.post("/console/deals/umbrella-pilot/plan", url.Values{"op": {"redate"}, "key": {"prospect"}, "due": {"yesterday"}})
		if status != http.StatusUnprocessableEntity || !contains(body, `class="error"`, "yesterday") {
			t.Errorf("bad due: %d\n%s", status, body)
		}
		status, body = b.post("/console/deals/umbrella-pilot/plan", url.Values{"op": {"skip"}, "key": {"prospect"}, "reason": {"known customer"}})
		if status != http.StatusOK || !contains(body, "The plan is changed.", "Skipped: known customer") {
			t.Errorf("skip: %d\n%s", status, body)
		}
		status, body = b.post("/console/deals/umbrella-pilot/plan", url.Values{"op": {"add"}, "new_key": {"legal"}, "title": {"Legal review"},
			"role": {"commercial"}, "due": {"5d"}, "depends_on": {"needs-analysis"}, "checklist": {"NDA signed\nTerms reviewed"}})
		if status != http.StatusOK || !contains(body, "The plan is changed.", `id="m-legal"`, "Legal review") {
			t.Errorf("add: %d\n%s", status, body)
		}
		// Due in two seconds: at the due time the PMO is told, and the
		// escalation is in Pat's inbox.
		soon := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
		status, body = b.post("/console/deals/umbrella-pilot/plan", url.Values{"op": {"redate"}, "key": {"needs-analysis"}, "due": {soon}})
		if status != http.StatusOK || !contains(body, "The plan is changed.") {
			t.Errorf("redate: %d\n%s", status, body)
		}
		apitest.Eventually(t, "the escalation in pat's inbox", func() bool {
			_, inbox := b.get("/console/inbox")
			i := strings.Index(inbox, `id="escalations"`)
			return i >= 0 && contains(inbox[i:], "Umbrella pilot", "Needs analysis", "due today and not done")
		})
		status, body = b.get("/console/deals/umbrella-pilot")
		if i := strings.Index(body, `id="m-needs-analysis"`); i < 0 || !contains(body[i:], "overdue", `class="due red"`, "escalation level") {
			t.Errorf("the overdue milestone on the deal page: %d\n%s", status, body)
		}
		status, body = b.post("/console/deals/umbrella-pilot/pause", url.Values{"reason": {"customer budget freeze"}, "until": {"2099-01-02T10:00"}})
		if status != http.StatusOK || !contains(body, "The deal is paused", "until 2099-01-02 10:00 UTC") {
			t.Errorf("pause: %d\n%s", status, body)
		}
		status, body = b.post("/console/deals/umbrella-pilot/close", url.Values{"outcome": {"lost"}, "reason": {"chose a competitor"}})
		if status != http.StatusOK || !contains(body, "The deal is closed.", "Closed as <strong>lost</strong>") {
			t.Errorf("close: %d\n%s", status, body)
		}
		status, body = b.post("/console/deals/umbrella-pilot/close", url.Values{"outcome": {"won"}, "reason": {"again"}})
		if status != http.StatusConflict || !contains(body, "is closed (lost); nothing can change") {
			t.Errorf("close twice: %d\n%s", status, body)
		}
	})

	t.Run("not a PMO", func(t *testing.T) {
		s.T = t
		nb := newBrowserless(t, s)
		nb.signIn(s.Tokens["cora"])
		status, body := nb.get("/console/deals/new")
		if status != http.StatusOK || strings.Contains(body, `href="/console/deals/new"`) {
			t.Errorf("the menu offers Cora a start: %d", status)
		}
		status, body = nb.post("/console/deals", url.Values{"id": {"x"}, "name": {"X"}, "customer": {"X"}, "template": {"project"}})
		if status != http.StatusForbidden || !contains(body, "this needs one of the roles pmo") {
			t.Errorf("start by a commercial: %d\n%s", status, body)
		}
	})

	t.Run("reports", func(t *testing.T) {
		b.t, s.T = t, t
		s.Succeeds("pat", "POST", "/v1/coverage/programs", map[string]any{
			"id": "east-2026", "name": "East named accounts",
			"targets": map[string]any{"coverage_rate": 0.8, "signing_rate": 0.1, "first_pass_rate": 0.6},
			"teams":   map[string]any{"sdr": map[string]any{"lead": "cora"}, "bd": map[string]any{"lead": "cora"}, "presales": map[string]any{"lead": "sol"}},
		}, nil)
		s.Succeeds("pat", "POST", "/v1/coverage/programs/east-2026/accounts", []map[string]any{
			{"id": "acc-1", "name": "Initech"}, {"id": "acc-2", "name": "Hooli"}}, nil)
		s.Succeeds("cora", "POST", "/v1/coverage/programs/east-2026/events", []map[string]any{
			{"id": "e1", "account": "acc-1", "kind": "sdr_touch", "stage": "contact_established", "by": "cora"}}, nil)
		s.Succeeds("pat", "POST", "/v1/coverage/programs/east-2026/run", nil, nil)
		status, body := b.get("/console/reports")
		if status != http.StatusOK || !contains(body, "East named accounts", `href="/console/reports/coverage/east-2026"`) {
			t.Fatalf("reports: %d\n%s", status, body)
		}
		status, body = b.get("/console/reports/coverage/east-2026")
		if status != http.StatusOK || !contains(body, "<svg", "Rates against their targets", "Coverage (SDR)", "50.0%", "Untouched the longest", "Hooli") {
			t.Errorf("coverage report: %d\n%s", status, body)
		}
		s.funnelTarget("q4-east")
		s.Succeeds("pat", "POST", "/v1/funnel/targets/q4-east/run", nil, nil)
		status, body = b.get("/console/reports/funnel/q4-east")
		if status != http.StatusOK || !contains(body, "Q4 East new customers", "<svg", "Activities per working day", ">cora<", ">sol<", `class="bar behind"`) {
			t.Errorf("funnel report: %d\n%s", status, body)
		}
		status, body = b.get("/console/reports/coverage/nope")
		if status != http.StatusNotFound || !contains(body, "no coverage program") {
			t.Errorf("missing program: %d\n%s", status, body)
		}
		status, body = b.get("/console/reports/funnel/nope")
		if status != http.StatusNotFound || !contains(body, "no funnel target") {
			t.Errorf("missing target: %d\n%s", status, body)
		}
	})

	t.Run("revoked token", func(t *testing.T) {
		s.T = t
		nb := newBrowserless(t, s)
		nb.signIn(s.Tokens["abe"])
		if err := s.Store.DisableUser(t.Context(), "abe"); err != nil {
			t.Fatal(err)
		}
		status, body := nb.get("/console/inbox")
		if status != http.StatusUnauthorized || !contains(body, "Your token no longer works", `name="token"`) {
			t.Errorf("revoked: %d\n%s", status, body)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		b.t, s.T = t, t
		status, body := b.post("/console/logout", url.Values{})
		if status != http.StatusOK || !contains(body, "You are signed out.") {
			t.Errorf("sign out: %d\n%s", status, body)
		}
		if _, body = b.get("/console/inbox"); !contains(body, `name="token"`) {
			t.Errorf("inbox after sign-out is not the sign-in page:\n%s", body)
		}
	})
}

// TestConsoleDisabledUser: an admin disables a user through the API
// (PATCH /v1/users/{id}); every console session of theirs, signed in
// before, is refused at its next request, and their tokens with it.
func TestConsoleDisabledUser(t *testing.T) {
	s := newStack(t)
	s.NamedUser("abe", "Abe Sun", store.RoleApprover)
	laptop, phone := newBrowserless(t, s), newBrowserless(t, s)
	laptop.signIn(s.Tokens["abe"])
	phone.signIn(s.Tokens["abe"])
	if status, body := laptop.get("/console/inbox"); status != http.StatusOK || !contains(body, "My inbox") {
		t.Fatalf("inbox before: %d\n%s", status, body)
	}
	s.Succeeds("root", "PATCH", "/v1/users/abe", map[string]any{"disabled": true}, nil)
	for name, b := range map[string]*browserless{"laptop": laptop, "phone": phone} {
		status, body := b.get("/console/inbox")
		if status != http.StatusUnauthorized || !contains(body, "Your token no longer works", `name="token"`) {
			t.Errorf("%s after disable: %d\n%s", name, status, body)
		}
	}
	// Signing in again with the same token is refused too.
	fresh := newBrowserless(t, s)
	fresh.get("/console/login")
	if status, body := fresh.post("/console/login", url.Values{"token": {s.Tokens["abe"]}}); contains(body, "My inbox") {
		t.Errorf("a disabled user signed in: %d\n%s", status, body)
	}
}
