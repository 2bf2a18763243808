package console_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dealflow/api/apitest"
	"github.com/chromedp/chromedp"
)

// The browser tests drive the console in a real headless Chromium. They
// need Debian's chromium package: `make browser` installs it when run as
// root (`make test` does that first), or `sudo apt-get install chromium`.
// DEALFLOW_CHROMIUM names another Chromium or Chrome binary.
//
// Screenshots go to $DEALFLOW_ARTIFACTS, or console/testdata/artifacts
// (ignored by git); the test log says where. -update-screenshot also
// writes the deal page to docs/console-deal.png, the picture in docs/console.md.

var updateScreenshot = flag.Bool("update-screenshot", false, "write the deal page's screenshot to docs/console-deal.png")

// chromiumPath finds the browser, or fails the test saying how to install
// it: these tests are part of `make test` and must not pass silently
// without running.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("DEALFLOW_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("DEALFLOW_CHROMIUM=%s is not a browser this test can run (%v); unset it to use Debian's chromium (sudo apt-get install chromium)", p, err)
		}
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed, and the console's browser tests need it. " +
		"Install Debian's package: `sudo apt-get install chromium` (or `make browser` as root), " +
		"or set DEALFLOW_CHROMIUM to a Chromium or Chrome binary.")
	return ""
}

// artifactsDir is where screenshots go.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("DEALFLOW_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browser is one headless Chromium with a fresh profile (so no cookies
// carry over between tests), on the stack's server.
type browser struct {
	t         *testing.T
	ctx       context.Context
	base      string
	artifacts string
	shots     int
}

func newBrowser(t *testing.T, s *stack, path string) *browser {
	// The network is closed: these flags keep Chromium from waiting on
	// Google's hosts (updates, sync, QUIC probes).
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("force-color-profile", "srgb"), chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, so a broken install fails here, plainly. The
	// first run must be on ctx itself: the browser lives as long as the
	// context it was started with.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)) }()
	var err error
	select {
	case err = <-started:
	case <-time.After(90 * time.Second):
		err = errors.New("no answer in 90 s")
	}
	if err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	return &browser{t: t, ctx: ctx, base: s.Server.URL, artifacts: artifactsDir(t)}
}

// step runs void actions with a time limit.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// send runs actions that load a page (a form sent, a link followed) and
// returns the status of the page they load.
func (b *browser) send(what string, actions ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
	return int(resp.Status)
}

// open loads a console page and returns its status.
func (b *browser) open(path string) int {
	b.t.Helper()
	return b.send("open "+path, chromedp.Navigate(b.base+path))
}

// text returns the visible text of the first element matching css.
func (b *browser) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.shot("failed-text")
		b.t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// attr returns an attribute of the first element matching css.
func (b *browser) attr(css, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(css), name))
	if err != nil {
		b.t.Fatalf("attribute %s of %s: %v", name, css, err)
	}
	return v.Value
}

// shot writes a full-page PNG to the artifacts directory and returns it.
func (b *browser) shot(name string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return nil
	}
	b.shots++
	file := fmt.Sprintf("%s-%02d-%s.png", strings.ReplaceAll(b.t.Name(), "/", "_"), b.shots, name)
	if err := os.WriteFile(filepath.Join(b.artifacts, file), png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
	return png
}

// signIn signs in with token from the sign-in page.
func (b *browser) signIn(token string) int {
	b.t.Helper()
	b.open("/console/login")
	b.step("type the token", chromedp.SendKeys(chromedp.CSS(`input[name=token]`), token))
	return b.send("sign in", chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)))
}

func (b *browser) signOut() int {
	b.t.Helper()
	return b.send("sign out", chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))
}

// eventuallyOn reloads path until its text (of css) holds every want;
// the inbox reads the read model, which follows the workflow by a moment.
func (b *browser) eventuallyOn(path, css string, wants ...string) string {
	b.t.Helper()
	var got string
	apitest.Eventually(b.t, fmt.Sprintf("%s to show %q", path, wants), func() bool {
		b.open(path)
		got = b.text(css)
		return contains(got, wants...)
	})
	return got
}

// TestBrowser signs in, hands in a milestone (first with a checklist
// item missing: a readable error), rejects and approves a review from the
// inbox, watches the deal page change, refuses a form without its CSRF
// token, and signs out: in a real Chromium, without JavaScript of ours.
func TestBrowser(t *testing.T) {
	chromium := chromiumPath(t) // first: without it, fail at once
	s := newStack(t)
	s.team()
	s.startDeal("acme-erp", "ACME ERP rollout", "ACME Manufacturing")
	b := newBrowser(t, s, chromium)

	// Signed out, the console sends us to sign in; a bad token says why.
	if status := b.open("/"); status != 200 || !strings.HasSuffix(b.attr(`form[action="/console/login"]`, "action"), "/console/login") {
		t.Fatalf("/ → %d, not the sign-in page", status)
	}
	if status := b.signIn("dfl_wrong"); status != 401 || !contains(b.text("#error"), "That token does not sign you in") {
		t.Errorf("bad token: %d %q", status, b.text("main"))
	}
	b.shot("sign-in-refused")

	// Cora owns the first milestone.
	if status := b.signIn(s.Tokens["cora"]); status != 200 {
		t.Fatalf("sign in as cora: %d", status)
	}
	tasks := b.eventuallyOn("/console/inbox", "#tasks", "ACME ERP rollout", "Prospect identified")
	t.Logf("cora's tasks: %s", tasks)
	b.shot("cora-inbox")
	b.send("open the task", chromedp.Click(chromedp.CSS(`#tasks a.button`)))
	if got := b.attr("#m-prospect", "data-state"); got != "active" {
		t.Fatalf("prospect is %s, want active", got)
	}

	// One checklist item short: refused with the API's message, 422.
	b.step("tick one item", chromedp.Click(chromedp.CSS(`#m-prospect input[value="Customer background researched"]`)))
	status := b.send("submit incomplete", chromedp.Click(chromedp.CSS(`#m-prospect form.submit-form button[type=submit]`)))
	if msg := b.text("#error"); status != 422 || !contains(msg, "checklist incomplete for prospect", "Contact plan agreed with the PMO") {
		t.Errorf("incomplete checklist: %d %q", status, msg)
	}
	b.shot("checklist-incomplete")
	if got := b.attr("#m-prospect", "data-state"); got != "active" {
		t.Errorf("after a refused submit prospect is %s, want active", got)
	}

	// The whole checklist: done, and the next milestone is active.
	b.step("tick every item",
		chromedp.Click(chromedp.CSS(`#m-prospect input[value="Customer background researched"]`)),
		chromedp.Click(chromedp.CSS(`#m-prospect input[value="Contact plan agreed with the PMO"]`)))
	if status := b.send("submit", chromedp.Click(chromedp.CSS(`#m-prospect form.submit-form button[type=submit]`))); status != 200 {
		t.Errorf("submit: %d %q", status, b.text("main"))
	}
	if notice, state, next := b.text(".notice"), b.attr("#m-prospect", "data-state"), b.attr("#m-needs-analysis", "data-state"); notice != "Milestone submitted." || state != "done" || next != "active" {
		t.Errorf("after submit: notice %q, prospect %s, needs-analysis %s", notice, state, next)
	}
	// The audit trail comes from the read model, a moment behind.
	b.eventuallyOn("/console/deals/acme-erp", "#audit", "Milestone submitted", "Milestone done", "cora")
	b.signOut()

	// Solution design reaches Ann's inbox for review.
	s.Submit("cora", "acme-erp", "needs-analysis")
	s.Submit("sol", "acme-erp", "solution-design")
	s.Succeeds("cora", "POST", "/v1/deals/acme-erp/buyer-stage", map[string]any{"stage": "met_decision_maker", "note": "CIO joined the demo"}, nil)
	if status := b.signIn(s.Tokens["ann"]); status != 200 {
		t.Fatalf("sign in as ann: %d", status)
	}
	b.eventuallyOn("/console/inbox", "#reviews", "ACME ERP rollout", "Solution design")
	b.shot("ann-inbox")

	// A rejection needs a comment.
	status = b.send("reject without comment", chromedp.Click(chromedp.CSS(`#reviews button[value=reject]`)))
	if msg := b.text("#error"); status != 422 || !strings.Contains(strings.ToLower(msg), "comment") {
		t.Errorf("reject without a comment: %d %q", status, msg)
	}
	b.shot("reject-needs-comment")
	b.step("write a comment", chromedp.SendKeys(chromedp.CSS(`#reviews input[name=comment]`), "Price the integration work separately"))
	if status := b.send("reject", chromedp.Click(chromedp.CSS(`#reviews button[value=reject]`))); status != 200 || !contains(b.text(".notice"), "Rejected") {
		t.Errorf("reject: %d %q", status, b.text("main"))
	}

	// The deal page shows the rework round.
	b.open("/console/deals/acme-erp")
	if state, ms := b.attr("#m-solution-design", "data-state"), b.text("#m-solution-design"); state != "active" ||
		!contains(ms, "round 2", "Price the integration work separately") {
		t.Errorf("after the rejection solution-design is %s: %q", state, ms)
	}

	// Sol hands it in again; Ann approves from her inbox.
	s.Submit("sol", "acme-erp", "solution-design")
	b.eventuallyOn("/console/inbox", "#reviews", "Solution design")
	b.step("comment", chromedp.SendKeys(chromedp.CSS(`#reviews input[name=comment]`), "Good"))
	if status := b.send("approve", chromedp.Click(chromedp.CSS(`#reviews button[value=approve]`))); status != 200 || b.text(".notice") != "Approved." {
		t.Errorf("approve: %d %q", status, b.text("main"))
	}

	// The deal page changed: solution design done after one rework round,
	// the next milestone active, the buyer's stage beside it.
	b.open("/console/deals/acme-erp")
	if got := b.attr("#m-solution-design", "data-state"); got != "done" {
		t.Errorf("solution-design is %s, want done", got)
	}
	if got := b.attr("#m-solution-submission", "data-state"); got != "active" {
		t.Errorf("solution-submission is %s, want active", got)
	}
	if got := b.text("#rework"); got != "1" {
		t.Errorf("rework rounds %q, want 1", got)
	}
	if got := b.text("#buyer-stages li.current"); !strings.Contains(got, "Met decision maker") {
		t.Errorf("buyer's current stage %q", got)
	}
	if got := b.attr("#temporal-link", "href"); got != "http://temporal-ui.test/namespaces/default/workflows/deal%2Facme-erp" {
		t.Errorf("Temporal UI link %q", got)
	}
	// The PMO moves solution submission's due date to a few seconds from
	// now: its alarms fire, it falls overdue, the timeline shows it in red.
	s.Succeeds("pat", "POST", "/v1/deals/acme-erp/plan", map[string]any{"ops": []map[string]any{
		{"op": "redate", "key": "solution-submission", "due": time.Now().Add(4 * time.Second).UTC().Format(time.RFC3339)}}}, nil)
	apitest.Eventually(t, "solution submission to show as overdue and escalated", func() bool {
		b.open("/console/deals/acme-erp")
		return contains(b.attr("#m-solution-submission", "class"), "late") && contains(b.text("#m-solution-submission"), "overdue", "escalation level")
	})
	if got := b.attr("#m-solution-submission .due", "class"); got != "due red" {
		t.Errorf("the overdue due date's class is %q, want \"due red\"", got)
	}
	b.shot("deal-page")
	if *updateScreenshot {
		// docs/console.md's picture: the top of the page (the header, the
		// figures, the timeline beside the buyer's stage), not the whole
		// audit trail.
		b.step("size the window", chromedp.EmulateViewport(1280, 1180))
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "console-deal.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote docs/console-deal.png")
		b.step("size the window back", chromedp.EmulateViewport(1280, 900))
	}

	// A form whose CSRF token is not the session's is refused and does
	// nothing: here the sign-out form, so Ann stays signed in.
	b.step("forge the CSRF token", chromedp.SetAttributeValue(chromedp.CSS(`form[action="/console/logout"] input[name=csrf]`), "value", "forged"))
	status = b.signOut()
	if msg := b.text("#error"); status != 403 || !contains(msg, "security token does not match") {
		t.Errorf("forged CSRF: %d %q", status, msg)
	}
	b.shot("csrf-refused")
	if status := b.open("/console/inbox"); status != 200 || !contains(b.text("header"), "Ann Zhao") {
		t.Errorf("a refused sign-out signed Ann out: %d %q", status, b.text("main"))
	}

	// Signed out, pages send us back to sign in.
	if status := b.signOut(); status != 200 || !contains(b.text("main"), "You are signed out.") {
		t.Errorf("sign out: %d %q", status, b.text("main"))
	}
	b.open("/console/inbox")
	if !strings.Contains(b.attr(`input[name=next]`, "value"), "/console/inbox") {
		t.Error("the inbox after sign-out is not the sign-in page")
	}
}

// TestBrowserPMO starts a deal from the form (a bad amount first), changes
// its plan, and reads a funnel report's charts, as a PMO in Chromium.
func TestBrowserPMO(t *testing.T) {
	chromium := chromiumPath(t)
	s := newStack(t)
	s.team()
	s.funnelTarget("q4-north")
	s.Succeeds("pat", "POST", "/v1/funnel/targets/q4-north/run", nil, nil)
	b := newBrowser(t, s, chromium)
	if status := b.signIn(s.Tokens["pat"]); status != 200 {
		t.Fatalf("sign in as pat: %d", status)
	}

	b.open("/console/deals/new")
	b.step("fill the start form",
		chromedp.SendKeys(chromedp.CSS(`input[name=id]`), "hooli-crm"),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Hooli CRM"),
		chromedp.SendKeys(chromedp.CSS(`input[name=customer]`), "Hooli"),
		chromedp.SendKeys(chromedp.CSS(`input[name=amount]`), "a lot"),
		chromedp.SendKeys(chromedp.CSS(`input[name=commercial]`), "cora"),
		chromedp.SendKeys(chromedp.CSS(`input[name=solution]`), "sol"),
		chromedp.SendKeys(chromedp.CSS(`input[name=approvers]`), "ann, abe"),
		chromedp.SendKeys(chromedp.CSS(`input[name=director]`), "dina"))
	status := b.send("start with a bad amount", chromedp.Click(chromedp.CSS(`#start-form button[type=submit]`)))
	if msg := b.text("#error"); status != 422 || !contains(msg, "The amount must be a number") {
		t.Errorf("bad amount: %d %q", status, msg)
	}
	if got := b.attr(`input[name=name]`, "value"); got != "Hooli CRM" {
		t.Errorf("the form lost its values: name %q", got)
	}
	b.shot("start-refused")
	b.step("fix the amount", chromedp.Clear(chromedp.CSS(`input[name=amount]`)), chromedp.SendKeys(chromedp.CSS(`input[name=amount]`), "450000"))
	if status := b.send("start", chromedp.Click(chromedp.CSS(`#start-form button[type=submit]`))); status != 200 || b.text(".notice") != "The deal is started." {
		t.Fatalf("start: %d %q", status, b.text("main"))
	}
	if got := b.attr("#m-prospect", "data-state"); got != "active" {
		t.Errorf("the new deal's prospect is %s", got)
	}

	// Skip the first milestone: the second becomes active.
	b.step("choose skip", chromedp.SendKeys(chromedp.CSS(`#change-plan input[name=op][value=skip] ~ label input[name=reason]`), "met them at the fair"))
	if status := b.send("skip", chromedp.Click(chromedp.CSS(`#change-plan input[name=op][value=skip] ~ button`))); status != 200 || b.text(".notice") != "The plan is changed." {
		t.Errorf("skip: %d %q", status, b.text("main"))
	}
	if p, n := b.attr("#m-prospect", "data-state"), b.attr("#m-needs-analysis", "data-state"); p != "skipped" || n != "active" {
		t.Errorf("after the skip: prospect %s, needs-analysis %s", p, n)
	}
	b.shot("plan-changed")

	b.open("/console/reports")
	b.send("open the funnel report", chromedp.Click(chromedp.CSS(`a[href="/console/reports/funnel/q4-north"]`)))
	if n, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSSAll(`#charts svg.chart rect.bar`), chromedp.AtLeast(0))); err != nil || len(n) < 9 {
		t.Errorf("funnel charts: %d bars, %v", len(n), err)
	}
	if got := b.text("#charts"); !contains(got, "cora", "sol", "Revenue so far", "180,000") {
		t.Errorf("funnel charts' text: %q", got)
	}
	b.shot("funnel-report")
}
