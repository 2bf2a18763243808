package console

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// notices are the confirmations shown after a form succeeded; the redirect
// names one by its key (?done=approve).
var notices = map[string]string{
	"submit":  "Milestone submitted.",
	"approve": "Approved.",
	"reject":  "Rejected: the owner has it back for another round.",
	"plan":    "The plan is changed.",
	"buyer":   "The buyer's stage is recorded.",
	"pause":   "The deal is paused: every clock has stopped.",
	"resume":  "The deal is resumed: due times moved by the paused span.",
	"close":   "The deal is closed.",
	"start":   "The deal is started.",
}

// act sends one deal action to the API with the form's idempotency key;
// on success it redirects (POST, redirect, GET) to the deal page or, for a
// form sent from the inbox, back to the inbox.
func (c *Console) act(ec echo.Context, s *session, action string, body any, done string) error {
	id := ec.Param("id")
	if e := c.post(ec, s, "/v1/deals/"+pathEscape(id)+action, body, nil); e != nil {
		if ec.FormValue("back") == "inbox" && e.Status != http.StatusUnauthorized {
			return c.inboxWithError(ec, s, e)
		}
		return c.dealWithError(ec, s, e)
	}
	if ec.FormValue("back") == "inbox" {
		return ec.Redirect(http.StatusSeeOther, c.base+"/inbox?done="+done)
	}
	return ec.Redirect(http.StatusSeeOther, c.base+"/deals/"+pathEscape(id)+"?done="+done)
}

// inboxWithError shows the inbox again after a review sent from it failed.
func (c *Console) inboxWithError(ec echo.Context, s *session, failed *apiError) error {
	var in inboxView
	if e := c.get(ec, s, "/v1/inbox", &in.Inbox); e != nil {
		return c.fail(ec, s, failed)
	}
	in.Idem = randomToken()
	return c.render(ec, failed.Status, "inbox", &view{Title: "My inbox", Section: "inbox", S: s, Error: failed, Data: in})
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	out := []string{}
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// list splits a comma-separated field.
func list(s string) []string {
	out := []string{}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *Console) submit(ec echo.Context, s *session) error {
	form, _ := ec.FormParams()
	checked := form["item"]
	if checked == nil {
		checked = []string{}
	}
	body := map[string]any{"checklist": checked, "evidence": lines(ec.FormValue("evidence")), "note": ec.FormValue("note")}
	return c.act(ec, s, "/milestones/"+pathEscape(ec.Param("key"))+"/submit", body, "submit")
}

func (c *Console) review(ec echo.Context, s *session) error {
	decision := ec.FormValue("decision")
	body := map[string]any{"decision": decision, "comment": strings.TrimSpace(ec.FormValue("comment"))}
	done := "approve"
	if decision == "reject" {
		done = "reject"
	}
	return c.act(ec, s, "/milestones/"+pathEscape(ec.Param("key"))+"/review", body, done)
}

// changePlan sends one plan operation from the deal page's forms: redate,
// reassign, skip, or add a milestone.
func (c *Console) changePlan(ec echo.Context, s *session) error {
	op := map[string]any{"op": ec.FormValue("op")}
	switch ec.FormValue("op") {
	case "redate":
		op["key"], op["due"] = ec.FormValue("key"), strings.TrimSpace(ec.FormValue("due"))
	case "reassign":
		op["key"], op["owner"] = ec.FormValue("key"), strings.TrimSpace(ec.FormValue("owner"))
	case "skip":
		op["key"], op["reason"] = ec.FormValue("key"), strings.TrimSpace(ec.FormValue("reason"))
	case "add":
		m := map[string]any{
			"key": strings.TrimSpace(ec.FormValue("new_key")), "title": strings.TrimSpace(ec.FormValue("title")),
			"role": ec.FormValue("role"), "due": strings.TrimSpace(ec.FormValue("due")),
			"depends_on": list(ec.FormValue("depends_on")), "checklist": lines(ec.FormValue("checklist")),
		}
		if o := strings.TrimSpace(ec.FormValue("owner")); o != "" {
			m["owner"] = o
		}
		op["milestone"] = m
	}
	return c.act(ec, s, "/plan", map[string]any{"ops": []any{op}}, "plan")
}

func (c *Console) buyerStage(ec echo.Context, s *session) error {
	body := map[string]any{"stage": ec.FormValue("stage"), "note": strings.TrimSpace(ec.FormValue("note"))}
	return c.act(ec, s, "/buyer-stage", body, "buyer")
}

// localMinute is what an <input type="datetime-local"> sends.
var localMinute = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$`)

func (c *Console) pause(ec echo.Context, s *session) error {
	until := strings.TrimSpace(ec.FormValue("until"))
	if localMinute.MatchString(until) {
		until += ":00Z" // the form says the time is in UTC
	}
	body := map[string]any{"until": until, "reason": strings.TrimSpace(ec.FormValue("reason"))}
	return c.act(ec, s, "/pause", body, "pause")
}

func (c *Console) resume(ec echo.Context, s *session) error {
	return c.act(ec, s, "/resume", map[string]any{}, "resume")
}

func (c *Console) closeDeal(ec echo.Context, s *session) error {
	body := map[string]any{"outcome": ec.FormValue("outcome"), "reason": strings.TrimSpace(ec.FormValue("reason"))}
	return c.act(ec, s, "/close", body, "close")
}
