package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
)

const userKey = "dealflow.user"

// authenticate requires a valid bearer token and puts its user in the
// context. The token's hash is looked up, so comparison time does not
// depend on the secret.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dealflow"`)
			return apiError(http.StatusUnauthorized, codeUnauthenticated, "missing bearer token: send Authorization: Bearer <token>")
		}
		token = strings.TrimSpace(token)
		u, err := s.store.Authenticate(c.Request().Context(), token)
		switch {
		case err == nil:
			s.tokens.remember(token, u, time.Now())
		case store.IsUnavailable(err):
			// Postgres is down: deals still work, for people seen recently.
			if known, ok := s.tokens.recall(token, time.Now()); ok {
				u, err = known, nil
			}
		}
		if errors.Is(err, store.ErrUnauthenticated) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dealflow", error="invalid_token"`)
			return apiError(http.StatusUnauthorized, codeUnauthenticated, "invalid token: it is unknown, revoked, or its user is disabled")
		}
		if err != nil {
			return err
		}
		c.Set(userKey, u)
		return next(c)
	}
}

// currentUser returns the authenticated user.
func currentUser(c echo.Context) *store.User {
	u, _ := c.Get(userKey).(*store.User)
	return u
}

// requireRole allows the request when the user has any of roles; admins
// pass every role check.
func requireRole(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := currentUser(c)
			if u.HasRole(store.RoleAdmin) || slices.ContainsFunc(roles, u.HasRole) {
				return next(c)
			}
			names := make([]string, len(roles))
			for i, r := range roles {
				names[i] = string(r)
			}
			return apiError(http.StatusForbidden, "forbidden", "this needs one of the roles %s; you have %v", strings.Join(names, ", "), u.Roles)
		}
	}
}

// actingRoles may act on deals; the deal's workflow then checks that the
// user holds the right place on that deal.
var actingRoles = []store.Role{store.RolePMO, store.RoleCommercial, store.RoleSolution, store.RoleApprover, store.RoleDirector}
