package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows/plan"
	"dealflow/workflows/problem"
)

// templateSummary is one line of GET /v1/templates.
type templateSummary struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Milestones  int    `json:"milestones"`
	Builtin     bool   `json:"builtin"`
}

func summarize(t plan.Template, builtin bool) templateSummary {
	return templateSummary{Name: t.Name, Title: t.Title, Description: t.Description, Milestones: len(t.Milestones), Builtin: builtin}
}

func (s *Server) listTemplates(c echo.Context) error {
	out := []templateSummary{}
	for _, t := range plan.Builtins() {
		out = append(out, summarize(t, true))
	}
	saved, err := s.store.ListTemplates(c.Request().Context())
	if err != nil {
		return err
	}
	for _, t := range saved {
		out = append(out, summarize(t.Template, false))
	}
	return c.JSON(http.StatusOK, map[string]any{"templates": out})
}

func (s *Server) getTemplate(c echo.Context) error {
	t, err := s.template(c, c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

// template finds a built-in or saved template by name.
func (s *Server) template(c echo.Context, name string) (plan.Template, error) {
	if t, ok := plan.Builtin(name); ok {
		return t, nil
	}
	if problem.KeyError(name) != "" { // no saved template has such a name
		return plan.Template{}, apiError(http.StatusNotFound, string(plan.CodeNotFound), "no template %q; GET /v1/templates lists them", clip(name))
	}
	saved, err := s.store.GetTemplate(c.Request().Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return plan.Template{}, apiError(http.StatusNotFound, string(plan.CodeNotFound), "no template %q; GET /v1/templates lists them", name)
	}
	if err != nil {
		return plan.Template{}, err
	}
	return saved.Template, nil
}

// saveTemplate validates and stores a custom template; the error names the
// offending milestone and field.
func (s *Server) saveTemplate(c echo.Context) error {
	var t plan.Template
	if err := s.bind(c, &t); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if _, ok := plan.Builtin(t.Name); ok {
		return apiError(http.StatusConflict, string(plan.CodeConflict), "%q is a built-in template; save yours under another name", t.Name)
	}
	saved, err := s.store.SaveTemplate(c.Request().Context(), t, currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, saved)
}
