package store_test

import (
	"errors"
	"testing"

	"dealflow/activities/store"
	"dealflow/workflows/plan"
)

func TestTemplates(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	tmpl, _ := plan.Builtin("project")
	tmpl.Name, tmpl.Title = "gov-project", "Government project"

	saved, err := s.SaveTemplate(ctx, tmpl, "pat")
	if err != nil {
		t.Fatal(err)
	}
	if saved.Template.Name != "gov-project" || saved.CreatedBy != "pat" || len(saved.Template.Milestones) != len(tmpl.Milestones) {
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

	// Saving again replaces the body and keeps the creator.
	tmpl.Title = "Government project v2"
	again, err := s.SaveTemplate(ctx, tmpl, "quinn")
	if err != nil {
		t.Fatal(err)
	}
	if again.Template.Title != "Government project v2" || again.CreatedBy != "pat" || again.UpdatedAt.Before(saved.UpdatedAt) {
		t.Errorf("update %+v", again)
	}

	other := tmpl
	other.Name = "another"
	if _, err := s.SaveTemplate(ctx, other, "pat"); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTemplates(ctx)
	if err != nil || len(list) != 2 || list[0].Template.Name != "another" || list[1].Template.Name != "gov-project" {
		t.Errorf("ListTemplates = %+v, %v", list, err)
	}

	bad := tmpl
	bad.Name = "Bad Name"
	var ve *plan.ValidationError
	if _, err := s.SaveTemplate(ctx, bad, "pat"); !errors.As(err, &ve) {
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
