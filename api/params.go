package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"dealflow/workflows/problem"
)

// maxParam bounds a path parameter: every id the API stores is far shorter.
const maxParam = 1024

// textParams answers 404 for a path parameter that is not one line of valid
// text (a NUL, a control character, invalid UTF-8): nothing stored can have
// such an id, and Postgres refuses to even compare with it. A query
// parameter that is not is a 400 naming it.
func textParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for name, vs := range c.QueryParams() {
			for _, v := range vs {
				if msg := problem.LineError(v, maxParam); msg != "" {
					return apiError(http.StatusBadRequest, codeBadRequest, "query parameter %s %s", problem.Clip(name), msg)
				}
			}
		}
		for i, v := range c.ParamValues() {
			if msg := problem.LineError(v, maxParam); msg != "" {
				name := "id"
				if names := c.ParamNames(); i < len(names) {
					name = names[i]
				}
				return apiError(http.StatusNotFound, "not_found", "no such resource: the %s in the path %s", name, msg)
			}
		}
		return next(c)
	}
}
