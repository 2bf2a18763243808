package console

import (
	"crypto/subtle"
	"net/http"

	"github.com/labstack/echo/v4"
)

// csrfField names the hidden form field that carries the session's CSRF
// token.
const csrfField = "csrf"

// checkCSRF refuses a POST whose form does not carry its session's CSRF
// token. SameSite=Lax already keeps other sites' forms from carrying the
// cookie; the token also stops a request forged from a sibling site or an
// old browser. It runs before anything else reads the form.
func (c *Console) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		r := ec.Request()
		if r.Method != http.MethodPost {
			return next(ec)
		}
		r.Body = http.MaxBytesReader(ec.Response(), r.Body, maxFormBytes)
		s := c.readSession(r)
		got := r.PostFormValue(csrfField)
		if s == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
			// A form from before a restart or from a signed-out tab lands
			// here too: say what to do, and give a fresh form.
			return c.renderError(ec, s, http.StatusForbidden,
				"This form has expired or did not come from this console (its security token does not match your session). Reload the page and try again.")
		}
		return next(ec)
	}
}

// maxFormBytes bounds a form; the largest is a plan change with a checklist.
const maxFormBytes = 256 << 10
