package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
)

// inboxView is GET /v1/inbox, with an idempotency key for each review form.
type inboxView struct {
	store.Inbox
	Idem string
}

func (c *Console) inbox(ec echo.Context, s *session) error {
	var in store.Inbox
	if e := c.get(ec, s, "/v1/inbox", &in); e != nil {
		return c.fail(ec, s, e)
	}
	return c.render(ec, http.StatusOK, "inbox", &view{Title: "My inbox", Section: "inbox", S: s,
		Notice: notices[ec.QueryParam("done")], Data: inboxView{Inbox: in, Idem: randomToken()}})
}
