package store_test

import (
	"errors"
	"testing"

	"dealflow/activities/store"
	"dealflow/workflows/deal"
)

var (
	pat   = &store.User{ID: "pat", Roles: []store.Role{store.RolePMO}}
	quinn = &store.User{ID: "quinn", Roles: []store.Role{store.RolePMO}}
	admin = &store.User{ID: "root", Roles: []store.Role{store.RoleAdmin}}
)

func TestTemplates(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	tmpl, _ := deal.Builtin("project")
	tmpl.Name, tmpl.Title = "gov-project", "Government project"

	saved, err := s.SaveTemplate(ctx, tmpl, pat)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Template.Name != "gov-project" || saved.CreatedBy != "pat" || saved.UpdatedBy != "pat" || saved.Version != 1 ||
		len(saved.Template.Milestones) != len(tmpl.Milestones) {
		t.Errorf("saved %+v", saved)
	}
	got, err := s.GetTemplate(ctx, "gov-project")
	if err != nil {
		t.Fatal(err)
	}
	if got.Template.Title != "Government project" || got.Template.Milestones[2].Review == nil ||
		got.Template.Escalations[0].Offset != tmpl.Escalations[0].Offset {
		t.Errorf("round trip lost data: %+v", got.Template)
	}
	if err := got.Template.Validate(); err != nil {
		t.Errorf("stored template no longer validates: %v", err)
	}

	// Another PMO may not replace it; its owner and an admin may, each
	// save a new version that keeps the owner.
	tmpl.Title = "Government project v2"
	var oe *store.TemplateOwnerError
	if _, err := s.SaveTemplate(ctx, tmpl, quinn); !errors.As(err, &oe) || oe.Owner != "pat" {
		t.Fatalf("quinn replacing pat's template: %v", err)
	}
	again, err := s.SaveTemplate(ctx, tmpl, pat)
	if err != nil {
		t.Fatal(err)
	}
	if again.Template.Title != "Government project v2" || again.CreatedBy != "pat" || again.Version != 2 || again.UpdatedAt.Before(saved.UpdatedAt) {
		t.Errorf("update %+v", again)
	}
	tmpl.Title = "Government project v3"
	third, err := s.SaveTemplate(ctx, tmpl, admin)
	if err != nil {
		t.Fatal(err)
	}
	if third.Version != 3 || third.CreatedBy != "pat" || third.UpdatedBy != "root" {
		t.Errorf("admin's save %+v", third)
	}
	if got, err := s.GetTemplate(ctx, "gov-project"); err != nil || got.Version != 3 || got.Template.Title != "Government project v3" {
		t.Errorf("latest = %+v, %v", got, err)
	}
	v1, err := s.GetTemplateVersion(ctx, "gov-project", 1)
	if err != nil || v1.Version != 1 || v1.Template.Title != "Government project" || v1.UpdatedBy != "pat" || v1.CreatedBy != "pat" {
		t.Errorf("version 1 = %+v, %v", v1, err)
	}
	if _, err := s.GetTemplateVersion(ctx, "gov-project", 4); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("version 4: %v", err)
	}

	other := tmpl
	other.Name = "another"
	if _, err := s.SaveTemplate(ctx, other, pat); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTemplates(ctx)
	if err != nil || len(list) != 2 || list[0].Template.Name != "another" || list[1].Template.Name != "gov-project" {
		t.Errorf("ListTemplates = %+v, %v", list, err)
	}

	bad := tmpl
	bad.Name = "Bad Name"
	var ve *deal.ValidationError
	if _, err := s.SaveTemplate(ctx, bad, pat); !errors.As(err, &ve) {
		t.Errorf("invalid template: %v", err)
	}
	if _, err := s.GetTemplate(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTemplate(nope) = %v", err)
	}
	if err := s.DeleteTemplate(ctx, "another"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTemplate(ctx, "another"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}
