package console

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
)

func (c *Console) loginForm(ec echo.Context) error {
	s := c.readSession(ec.Request())
	if s.signedIn() {
		return ec.Redirect(http.StatusSeeOther, c.safeNext(ec.QueryParam("next")))
	}
	v := &view{Title: "Sign in", S: s, Data: ec.QueryParam("next")}
	if ec.QueryParam("bye") != "" {
		v.Notice = "You are signed out."
	}
	return c.render(ec, http.StatusOK, "login", v)
}

// login checks the token by asking the API who it belongs to, then seals
// it into a new session (a new CSRF token too: nothing from before sign-in
// carries over).
func (c *Console) login(ec echo.Context) error {
	token := strings.TrimSpace(ec.FormValue("token"))
	next := ec.FormValue("next")
	if token == "" {
		return c.render(ec, http.StatusBadRequest, "login", &view{Title: "Sign in", Data: next,
			Error: &apiError{Status: http.StatusBadRequest, Message: "Enter your API token."}})
	}
	var me store.User
	if e := c.call(ec.Request().Context(), ec.Request(), token, http.MethodGet, "/v1/me", nil, &me, ""); e != nil {
		if e.Status == http.StatusUnauthorized {
			e.Message = "That token does not sign you in: " + e.Message + "."
		}
		return c.render(ec, e.Status, "login", &view{Title: "Sign in", Data: next, Error: e})
	}
	roles := make([]string, len(me.Roles))
	for i, r := range me.Roles {
		roles[i] = string(r)
	}
	now := c.now()
	s := &session{Token: token, User: me.ID, Name: me.Name, Roles: roles, CSRF: randomToken(), Expires: now.Add(c.cfg.SessionTTL)}
	if err := c.writeSession(ec.Response(), ec.Request(), s); err != nil {
		return c.plainError(ec, err)
	}
	return ec.Redirect(http.StatusSeeOther, c.safeNext(next))
}

// logout forgets the session; the token itself stays valid (revoke it in
// the API to end it everywhere).
func (c *Console) logout(ec echo.Context) error {
	c.clearSession(ec.Response(), ec.Request())
	return ec.Redirect(http.StatusSeeOther, c.base+"/login?bye=1")
}

// safeNext returns where to go after sign-in: a console page, never
// another site.
func (c *Console) safeNext(next string) string {
	if strings.HasPrefix(next, c.base+"/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") &&
		!strings.HasPrefix(next, c.base+"/login") {
		return next
	}
	return c.base + "/inbox"
}
