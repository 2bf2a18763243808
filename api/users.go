package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
)

type createUserRequest struct {
	ID    string       `json:"id"`
	Name  string       `json:"name"`
	Email string       `json:"email"`
	Roles []store.Role `json:"roles"`
}

// userWithToken answers user creation: the token is shown this once.
type userWithToken struct {
	User  *store.User `json:"user"`
	Token string      `json:"token"`
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
	token, err := s.store.CreateToken(ctx, u.ID, "created with the user")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userWithToken{User: u, Token: token})
}

func (s *Server) listUsers(c echo.Context) error {
	users, err := s.store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"users": users})
}

type createTokenRequest struct {
	Name string `json:"name"`
}

// createToken issues another token: admins for anyone, users for themselves.
func (s *Server) createToken(c echo.Context) error {
	me := currentUser(c)
	id := c.Param("id")
	if id != me.ID && !me.HasRole(store.RoleAdmin) {
		return apiError(http.StatusForbidden, "forbidden", "only an admin can issue tokens for another user")
	}
	var r createTokenRequest
	if err := s.bindOptional(c, &r); err != nil {
		return err
	}
	token, err := s.store.CreateToken(c.Request().Context(), id, r.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"token": token})
}

func (s *Server) revokeToken(c echo.Context) error {
	if err := s.store.RevokeToken(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
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
