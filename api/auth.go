package api

import (
	"context"
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
// depend on the secret. Only when Postgres cannot be reached at all
// (store.IsOutage) does it fall back on the tokens accepted recently (see
// tokenCache); a token the store refuses is forgotten there at once.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dealflow"`)
			return apiError(http.StatusUnauthorized, codeUnauthenticated, "missing bearer token: send Authorization: Bearer <token>")
		}
		token = strings.TrimSpace(token)
		u, err := s.authenticateToken(c, token, time.Now())
		if errors.Is(err, store.ErrUnauthenticated) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dealflow", error="invalid_token"`)
			return apiError(http.StatusUnauthorized, codeUnauthenticated, "invalid token: it is unknown, revoked or expired, or its user is disabled")
		}
		if err != nil {
			return err
		}
		c.Set(userKey, u)
		return next(c)
	}
}

// tokenAuthenticator is what authenticateToken asks: the store, or a fake
// in unit tests.
type tokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (*store.Auth, error)
}

func (s *Server) authenticateToken(c echo.Context, token string, now time.Time) (*store.User, error) {
	return checkToken(c.Request().Context(), s.auth, s.tokens, token, now)
}

// checkToken asks the store about token and keeps the cache in step: an
// accepted token is remembered, a refused one forgotten, and the cache
// answers only on an outage. Any other error is returned as it is (a 503
// or 500), letting nobody in.
func checkToken(ctx context.Context, st tokenAuthenticator, cache *tokenCache, token string, now time.Time) (*store.User, error) {
	a, err := st.AuthenticateToken(ctx, token)
	switch {
	case err == nil:
		cache.remember(token, a, now)
		return a.User, nil
	case errors.Is(err, store.ErrUnauthenticated):
		cache.forget(token)
	case store.IsOutage(err):
		// Postgres is down: deals still work, for people seen recently.
		if known, ok := cache.recall(token, now); ok {
			return known, nil
		}
	}
	return nil, err
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
