package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

type createUserRequest struct {
	ID    string       `json:"id"`
	Name  string       `json:"name"`
	Email string       `json:"email"`
	Roles []store.Role `json:"roles"`
}

// userWithToken answers user creation: the token is shown this once.
type userWithToken struct {
	User    *store.User `json:"user"`
	Token   string      `json:"token"`
	TokenID string      `json:"token_id"`
}

func (s *Server) createUser(c echo.Context) error {
	var r createUserRequest
	if err := s.bind(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.store.CreateUser(ctx, store.User{ID: r.ID, Name: r.Name, Email: r.Email, Roles: r.Roles})
	if err != nil {
		return err
	}
	t, err := s.store.IssueToken(ctx, store.TokenRequest{UserID: u.ID, Name: "created with the user", By: currentUser(c).ID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userWithToken{User: u, Token: t.Token, TokenID: t.ID})
}

func (s *Server) listUsers(c echo.Context) error {
	users, err := s.store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"users": users})
}

// updateUser changes a user's name, email, roles or whether they are
// disabled (admins only). Disabling takes effect at the user's next request,
// on every token and console session; this API forgets the user's cached
// tokens at once.
func (s *Server) updateUser(c echo.Context) error {
	var p store.UserPatch
	if err := s.bind(c, &p); err != nil {
		return err
	}
	if p == (store.UserPatch{}) {
		return apiError(http.StatusBadRequest, codeBadRequest, "nothing to change: send any of name, email, roles and disabled")
	}
	id := c.Param("id")
	u, err := s.store.UpdateUser(c.Request().Context(), id, p)
	if err != nil {
		return userError(err, id)
	}
	s.tokens.forgetUser(id)
	return c.JSON(http.StatusOK, u)
}

// userError says which user was not found.
func userError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(deal.CodeNotFound), "no user %q; GET /v1/users lists them", id)
	}
	return err
}

// maxTokenTTL bounds a token's lifetime when one is asked for (ttl or
// expires_at): a year. Tokens without either never expire.
const maxTokenTTL = 366 * 24 * time.Hour

type createTokenRequest struct {
	Name string `json:"name"`
	// ExpiresAt (RFC 3339) or TTL (a plan duration such as 30d, 2w or
	// 12h) makes the token expire; neither: it never does.
	ExpiresAt *time.Time `json:"expires_at"`
	TTL       string     `json:"ttl"`
}

// createToken issues another token for a user. Only admins issue tokens,
// for anyone (themselves included): a token that could mint tokens would
// let a stolen or leaver's token outlive its revocation by minting a fresh
// one, and every token in existence would no longer be one an admin issued.
// The answer holds the token's id (to list and revoke it), the secret,
// shown this once, and its expiry.
func (s *Server) createToken(c echo.Context) error {
	var r createTokenRequest
	if err := s.bindOptional(c, &r); err != nil {
		return err
	}
	expires, err := tokenExpiry(r, time.Now())
	if err != nil {
		return err
	}
	id := c.Param("id")
	t, err := s.store.IssueToken(c.Request().Context(), store.TokenRequest{UserID: id, Name: r.Name, By: currentUser(c).ID, ExpiresAt: expires})
	if err != nil {
		return userError(err, id)
	}
	return c.JSON(http.StatusCreated, t)
}

// tokenExpiry reads a token request's expiry: at most maxTokenTTL from now.
func tokenExpiry(r createTokenRequest, now time.Time) (*time.Time, error) {
	switch {
	case r.ExpiresAt != nil && r.TTL != "":
		return nil, apiError(http.StatusBadRequest, codeBadRequest, "give either expires_at or ttl, not both")
	case r.TTL != "":
		d, err := deal.ParseDuration(r.TTL)
		if err != nil || d <= 0 {
			return nil, apiError(http.StatusBadRequest, codeBadRequest, "ttl %q is not a positive duration such as 30d or 12h", r.TTL)
		}
		at := now.Add(d.Std())
		r.ExpiresAt = &at
	case r.ExpiresAt == nil:
		return nil, nil
	}
	if !r.ExpiresAt.After(now) {
		return nil, apiError(http.StatusBadRequest, codeBadRequest, "expires_at %s is not in the future", r.ExpiresAt.Format(time.RFC3339))
	}
	if r.ExpiresAt.Sub(now) > maxTokenTTL {
		return nil, apiError(http.StatusBadRequest, codeBadRequest, "a token expires within 366 days; leave expires_at and ttl out for one that never does")
	}
	return r.ExpiresAt, nil
}

// listTokens answers a user's tokens (metadata, never the secret): admins
// see anyone's, users their own.
func (s *Server) listTokens(c echo.Context) error {
	me, id := currentUser(c), c.Param("id")
	if id != me.ID && !me.HasRole(store.RoleAdmin) {
		return apiError(http.StatusForbidden, string(deal.CodeForbidden), "only an admin lists another user's tokens; GET /v1/users/%s/tokens lists yours", me.ID)
	}
	ctx := c.Request().Context()
	if _, err := s.store.GetUser(ctx, id); err != nil {
		return userError(err, id)
	}
	tokens, err := s.store.ListTokens(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": tokens})
}

func (s *Server) revokeToken(c echo.Context) error {
	id := c.Param("id")
	if err := s.store.RevokeToken(c.Request().Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return apiError(http.StatusNotFound, string(deal.CodeNotFound), "no token %q; GET /v1/users/{id}/tokens lists a user's tokens", id)
		}
		return err
	}
	s.tokens.forgetID(id)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error { return c.JSON(http.StatusOK, currentUser(c)) }

func (s *Server) inbox(c echo.Context) error {
	in, err := s.store.Inbox(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, in)
}
