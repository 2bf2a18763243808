package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"dealflow/workflows/plan"
)

// StoredTemplate is a custom plan template and who saved it.
type StoredTemplate struct {
	Template  plan.Template `json:"template"`
	CreatedBy string        `json:"created_by"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

type templateRow struct {
	Name      string    `db:"name"`
	Body      []byte    `db:"body"`
	CreatedBy string    `db:"created_by"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (r templateRow) template() (*StoredTemplate, error) {
	st := &StoredTemplate{CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Body, &st.Template); err != nil {
		return nil, fmt.Errorf("store: template %s: stored body does not decode: %w", r.Name, err)
	}
	return st, nil
}

const (
	sqlTemplateColumns = `name, body, created_by, created_at, updated_at`
	// Saving again replaces the body; the creator and creation time stay.
	sqlSaveTemplate = `
INSERT INTO templates (name, body, created_by) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body, updated_at = now()
RETURNING ` + sqlTemplateColumns
	sqlGetTemplate    = `SELECT ` + sqlTemplateColumns + ` FROM templates WHERE name = $1`
	sqlListTemplates  = `SELECT ` + sqlTemplateColumns + ` FROM templates ORDER BY name`
	sqlDeleteTemplate = `DELETE FROM templates WHERE name = $1`
)

// SaveTemplate validates t and stores it under t.Name, replacing a template
// of that name. An invalid template returns its *plan.ValidationError.
// Whether a custom template may shadow a built-in one is the caller's call.
func (s *Store) SaveTemplate(ctx context.Context, t plan.Template, by string) (*StoredTemplate, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("store: template %s does not encode: %w", t.Name, err)
	}
	var row templateRow
	if err := s.db.QueryRowxContext(ctx, sqlSaveTemplate, t.Name, string(body), by).StructScan(&row); err != nil {
		return nil, fmt.Errorf("store: saving template %s: %w", t.Name, err)
	}
	return row.template()
}

// GetTemplate returns a custom template, or ErrNotFound.
func (s *Store) GetTemplate(ctx context.Context, name string) (*StoredTemplate, error) {
	var row templateRow
	if err := s.db.QueryRowxContext(ctx, sqlGetTemplate, name).StructScan(&row); err != nil {
		return nil, mapErr(err, "template "+name)
	}
	return row.template()
}

// ListTemplates returns the custom templates by name.
func (s *Store) ListTemplates(ctx context.Context) ([]StoredTemplate, error) {
	var rows []templateRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlListTemplates); err != nil {
		return nil, fmt.Errorf("store: listing templates: %w", err)
	}
	out := make([]StoredTemplate, 0, len(rows))
	for _, r := range rows {
		t, err := r.template()
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, nil
}

// DeleteTemplate removes a custom template, or returns ErrNotFound. Running
// deals keep their copy of the plan.
func (s *Store) DeleteTemplate(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, sqlDeleteTemplate, name)
	if err != nil {
		return fmt.Errorf("store: deleting template %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("template %s: %w", name, ErrNotFound)
	}
	return nil
}
