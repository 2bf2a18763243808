package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
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

func summarize(t deal.Template, builtin bool) templateSummary {
	return templateSummary{Name: t.Name, Title: t.Title, Description: t.Description, Milestones: len(t.Milestones), Builtin: builtin}
}

func (s *Server) listTemplates(c echo.Context) error {
	out := []templateSummary{}
	for _, t := range deal.Builtins() {
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

// templateView answers GET /v1/templates/{name}: the template's fields, and
// for a saved one which version this is, its owner (created_by) and who
// saved this version when (updated_by, updated_at). Built-in templates are
// version 0 and builtin.
type templateView struct {
	deal.Template
	Builtin   bool       `json:"builtin,omitempty"`
	Version   int        `json:"version"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedBy string     `json:"updated_by,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// getTemplate answers a template's latest version, or with ?version=N an
// earlier one of a saved template.
func (s *Server) getTemplate(c echo.Context) error {
	name := c.Param("name")
	if v := c.QueryParam("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return apiError(http.StatusBadRequest, codeBadRequest, "version must be a whole number from 1 (built-in templates are version 0), not %q", v)
		}
		return s.getTemplateVersion(c, name, n)
	}
	t, err := s.template(c, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t.view())
}

func (s *Server) getTemplateVersion(c echo.Context, name string, version int) error {
	if b, ok := deal.Builtin(name); ok {
		if version != deal.BuiltinTemplateVersion {
			return apiError(http.StatusNotFound, string(deal.CodeNotFound), "%s is a built-in template: it has only version %d", name, deal.BuiltinTemplateVersion)
		}
		return c.JSON(http.StatusOK, resolvedTemplate{Template: b, builtin: true}.view())
	}
	saved, err := s.store.GetTemplateVersion(c.Request().Context(), name, version)
	if errors.Is(err, store.ErrNotFound) {
		return apiError(http.StatusNotFound, string(deal.CodeNotFound), "template %q has no version %d; GET /v1/templates/%s answers the latest", name, version, name)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resolvedTemplate{Template: saved.Template, saved: saved}.view())
}

// resolvedTemplate is a built-in or saved template found by name.
type resolvedTemplate struct {
	deal.Template
	builtin bool
	saved   *store.StoredTemplate // nil for a built-in one
}

// version is the template version a deal records.
func (t resolvedTemplate) version() int {
	if t.saved == nil {
		return deal.BuiltinTemplateVersion
	}
	return t.saved.Version
}

func (t resolvedTemplate) view() templateView {
	v := templateView{Template: t.Template, Builtin: t.builtin, Version: t.version()}
	if st := t.saved; st != nil {
		v.CreatedBy, v.CreatedAt, v.UpdatedBy, v.UpdatedAt = st.CreatedBy, &st.CreatedAt, st.UpdatedBy, &st.UpdatedAt
	}
	return v
}

// template finds a built-in or saved template (its latest version) by name.
func (s *Server) template(c echo.Context, name string) (resolvedTemplate, error) {
	if t, ok := deal.Builtin(name); ok {
		return resolvedTemplate{Template: t, builtin: true}, nil
	}
	if problem.KeyError(name) != "" { // no saved template has such a name
		return resolvedTemplate{}, apiError(http.StatusNotFound, string(deal.CodeNotFound), "no template %q; GET /v1/templates lists them", problem.Clip(name))
	}
	saved, err := s.store.GetTemplate(c.Request().Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return resolvedTemplate{}, apiError(http.StatusNotFound, string(deal.CodeNotFound), "no template %q; GET /v1/templates lists them", name)
	}
	if err != nil {
		return resolvedTemplate{}, err
	}
	return resolvedTemplate{Template: saved.Template, saved: saved}, nil
}

// saveTemplate validates and stores a custom template as its next version;
// the error names the offending milestone and field. Only the template's
// creator or an admin may replace it (403 naming the owner).
func (s *Server) saveTemplate(c echo.Context) error {
	var t deal.Template
	if err := s.bind(c, &t); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if _, ok := deal.Builtin(t.Name); ok {
		return apiError(http.StatusConflict, string(deal.CodeConflict), "%q is a built-in template; save yours under another name", t.Name)
	}
	saved, err := s.store.SaveTemplate(c.Request().Context(), t, currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, saved)
}
