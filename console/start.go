package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// templateSummary is one line of GET /v1/templates.
type templateSummary struct {
	Name       string `json:"name"`
	Title      string `json:"title"`
	Milestones int    `json:"milestones"`
	Builtin    bool   `json:"builtin"`
}

type startView struct {
	Templates []templateSummary
	// Form is what was entered (kept after an error).
	Form url.Values
	Idem string
}

func (c *Console) newDealForm(ec echo.Context, s *session) error {
	return c.startPage(ec, s, http.StatusOK, url.Values{"pmo": {s.User}, "currency": {"CNY"}, "template": {"project"}}, nil)
}

// startPage shows the start form, with an error when one is given.
func (c *Console) startPage(ec echo.Context, s *session, status int, form url.Values, failed *apiError) error {
	var ts struct {
		Templates []templateSummary `json:"templates"`
	}
	if e := c.get(ec, s, "/v1/templates", &ts); e != nil {
		return c.fail(ec, s, e)
	}
	return c.render(ec, status, "start", &view{Title: "Start a deal", Section: "start", S: s, Error: failed,
		Data: startView{Templates: ts.Templates, Form: form, Idem: randomToken()}})
}

// startDeal sends POST /v1/deals from the form; the API validates all of
// it (a bad amount is a field the API names too).
func (c *Console) startDeal(ec echo.Context, s *session) error {
	form, _ := ec.FormParams()
	f := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	body := map[string]any{
		"id": f("id"), "name": f("name"), "customer": f("customer"), "currency": f("currency"), "template": f("template"),
		"team": map[string]any{
			"pmo": f("pmo"), "commercial": f("commercial"), "solution": f("solution"),
			"approvers": list(f("approvers")), "director": f("director"),
		},
	}
	if a := f("amount"); a != "" {
		n, err := strconv.ParseFloat(strings.ReplaceAll(a, ",", ""), 64)
		if err != nil {
			return c.startPage(ec, s, http.StatusUnprocessableEntity, form, &apiError{Status: http.StatusUnprocessableEntity,
				Message: "The amount must be a number, such as 1200000, not " + strconv.Quote(a) + "."})
		}
		body["amount"] = n
	}
	var started struct {
		ID string `json:"id"`
	}
	if e := c.post(ec, s, "/v1/deals", body, &started); e != nil {
		if e.Status == http.StatusUnauthorized {
			return c.fail(ec, s, e)
		}
		return c.startPage(ec, s, e.Status, form, e)
	}
	return ec.Redirect(http.StatusSeeOther, c.base+"/deals/"+pathEscape(started.ID)+"?done=start")
}
