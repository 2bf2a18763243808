package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"dealflow/workflows/deal"
)

// StoredTemplate is one version of a custom plan template: who created the
// template (its owner) and who saved this version, when. Version counts the
// saves from 1; the built-in templates have none (version 0).
type StoredTemplate struct {
	Template  deal.Template `json:"template"`
	Version   int           `json:"version"`
	CreatedBy string        `json:"created_by"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedBy string        `json:"updated_by"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// TemplateOwnerError refuses to replace a template its caller does not own:
// only its creator or an admin may save a new version of it.
type TemplateOwnerError struct {
	Name  string
	Owner string
}

func (e *TemplateOwnerError) Error() string {
	return fmt.Sprintf("template %s belongs to %s: only its creator or an admin may replace it; save yours under another name", e.Name, e.Owner)
}

type templateRow struct {
	Name      string    `db:"name"`
	Body      []byte    `db:"body"`
	Version   int       `db:"version"`
	CreatedBy string    `db:"created_by"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedBy string    `db:"updated_by"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (r templateRow) template() (*StoredTemplate, error) {
	st := &StoredTemplate{Version: r.Version, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Body, &st.Template); err != nil {
		return nil, fmt.Errorf("store: template %s: stored body does not decode: %w", r.Name, err)
	}
	return st, nil
}

const (
	sqlTemplateColumns = `name, body, version, created_by, created_at, updated_by, updated_at`
	// A new name is claimed first (version 0, no body yet visible to
	// anyone: the transaction is not committed), then locked and checked
	// like an existing one, so two first saves of a name cannot race.
	sqlClaimTemplate = `
INSERT INTO templates (name, body, created_by, updated_by, version) VALUES ($1, $2, $3, $3, 0)
ON CONFLICT (name) DO NOTHING`
	sqlLockTemplate   = `SELECT created_by FROM templates WHERE name = $1 FOR UPDATE`
	sqlUpdateTemplate = `
UPDATE templates SET body = $2, version = version + 1, updated_by = $3, updated_at = now()
WHERE name = $1 RETURNING ` + sqlTemplateColumns
	sqlInsertTemplateVersion = `
INSERT INTO template_versions (name, version, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`
	sqlGetTemplate        = `SELECT ` + sqlTemplateColumns + ` FROM templates WHERE name = $1`
	sqlGetTemplateVersion = `
SELECT v.name, v.body, v.version, t.created_by, t.created_at, v.created_by AS updated_by, v.created_at AS updated_at
FROM template_versions v JOIN templates t ON t.name = v.name
WHERE v.name = $1 AND v.version = $2`
	sqlListTemplates  = `SELECT ` + sqlTemplateColumns + ` FROM templates ORDER BY name`
	sqlDeleteTemplate = `DELETE FROM templates WHERE name = $1`
)

// SaveTemplate validates t and stores it under t.Name as a new version: the
// first save creates the template, owned by its author; later saves are
// versions 2, 3, … and only the owner or an admin may make them (else a
// *TemplateOwnerError naming the owner). An invalid template returns its
// *deal.ValidationError. Whether a custom template may shadow a built-in one
// is the caller's call.
func (s *Store) SaveTemplate(ctx context.Context, t deal.Template, by *User) (*StoredTemplate, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("store: template %s does not encode: %w", t.Name, err)
	}
	var out *StoredTemplate
	err = s.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlClaimTemplate, t.Name, string(body), by.ID); err != nil {
			return err
		}
		var owner string
		if err := tx.GetContext(ctx, &owner, sqlLockTemplate, t.Name); err != nil {
			return err
		}
		if owner != by.ID && !by.HasRole(RoleAdmin) {
			return &TemplateOwnerError{Name: t.Name, Owner: owner}
		}
		var row templateRow
		if err := tx.QueryRowxContext(ctx, sqlUpdateTemplate, t.Name, string(body), by.ID).StructScan(&row); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqlInsertTemplateVersion, t.Name, row.Version, string(body), by.ID, row.UpdatedAt); err != nil {
			return err
		}
		out, err = row.template()
		return err
	})
	if err != nil {
		if _, ok := err.(*TemplateOwnerError); ok {
			return nil, err
		}
		return nil, fmt.Errorf("store: saving template %s: %w", t.Name, err)
	}
	return out, nil
}

// GetTemplate returns a custom template's latest version, or ErrNotFound.
func (s *Store) GetTemplate(ctx context.Context, name string) (*StoredTemplate, error) {
	var row templateRow
	if err := s.db.QueryRowxContext(ctx, sqlGetTemplate, name).StructScan(&row); err != nil {
		return nil, mapErr(err, "template "+name)
	}
	return row.template()
}

// GetTemplateVersion returns one version of a custom template (UpdatedBy
// and UpdatedAt say who saved that version, when), or ErrNotFound.
func (s *Store) GetTemplateVersion(ctx context.Context, name string, version int) (*StoredTemplate, error) {
	var row templateRow
	if err := s.db.QueryRowxContext(ctx, sqlGetTemplateVersion, name, version).StructScan(&row); err != nil {
		return nil, mapErr(err, fmt.Sprintf("template %s version %d", name, version))
	}
	return row.template()
}

// ListTemplates returns the custom templates' latest versions by name.
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

// DeleteTemplate removes a custom template with its versions, or returns
// ErrNotFound. Running deals keep their copy of the plan.
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
