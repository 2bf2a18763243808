package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
)

type tokenList struct {
	Tokens []store.Token `json:"tokens"`
}

// TestUserLifecycle: an admin renames a user, changes their roles, lists
// and issues their tokens (with an expiry), disables them — every token
// refused at its next request — and enables them again.
func TestUserLifecycle(t *testing.T) {
	s := newStack(t)
	s.User("cora", "commercial")
	s.Must("cora", "GET", "/v1/me", nil, http.StatusOK, nil)

	var u store.User
	s.Must("root", "PATCH", "/v1/users/cora", map[string]any{"name": "Cora Li", "email": "cora@example.com", "roles": []string{"commercial", "pmo"}}, http.StatusOK, &u)
	if u.Name != "Cora Li" || u.Email != "cora@example.com" || !u.HasRole(store.RolePMO) {
		t.Errorf("patched %+v", u)
	}
	s.Must("cora", "GET", "/v1/me", nil, http.StatusOK, &u)
	if !u.HasRole(store.RolePMO) {
		t.Errorf("the new role is not there at the next request: %+v", u)
	}
	s.Fails("root", "PATCH", "/v1/users/cora", map[string]any{"name": "two\nlines", "email": "nope"}, http.StatusUnprocessableEntity, "name")
	s.Fails("root", "PATCH", "/v1/users/cora", map[string]any{"roles": []string{"king"}}, http.StatusUnprocessableEntity, "unknown role")
	s.Fails("root", "PATCH", "/v1/users/cora", map[string]any{}, http.StatusBadRequest, "nothing to change")
	s.Fails("root", "PATCH", "/v1/users/zed", map[string]any{"disabled": true}, http.StatusNotFound, "no user")
	s.Fails("root", "PATCH", "/v1/users/root", map[string]any{"disabled": true}, http.StatusBadRequest, "last active admin")
	s.Fails("cora", "PATCH", "/v1/users/cora", map[string]any{"roles": []string{"admin"}}, http.StatusForbidden, "admin")

	// Tokens: issued by admins only, with an id and an expiry; listed
	// without their secrets.
	var issued store.IssuedToken
	s.Must("root", "POST", "/v1/users/cora/tokens", map[string]any{"name": "ci", "ttl": "7d"}, http.StatusCreated, &issued)
	if !strings.HasPrefix(issued.ID, "tok_") || !strings.HasPrefix(issued.Token, store.TokenPrefix) || issued.ExpiresAt == nil ||
		issued.ExpiresAt.Sub(time.Now().Add(7*24*time.Hour)).Abs() > time.Minute {
		t.Errorf("issued %+v", issued)
	}
	s.Fails("cora", "POST", "/v1/users/cora/tokens", nil, http.StatusForbidden, "admin")
	s.Fails("root", "POST", "/v1/users/cora/tokens", map[string]any{"ttl": "400d"}, http.StatusBadRequest, "366 days")
	s.Fails("root", "POST", "/v1/users/cora/tokens", map[string]any{"expires_at": "2020-01-01T00:00:00Z"}, http.StatusBadRequest, "not in the future")
	s.Fails("root", "POST", "/v1/users/cora/tokens", map[string]any{"ttl": "1d", "expires_at": "2099-01-01T00:00:00Z"}, http.StatusBadRequest, "either")
	s.Fails("root", "POST", "/v1/users/zed/tokens", nil, http.StatusNotFound, "no user")
	s.Tokens["cora-ci"] = issued.Token
	s.Must("cora-ci", "GET", "/v1/me", nil, http.StatusOK, nil)

	var list tokenList
	_, raw := s.Call("cora", "GET", "/v1/users/cora/tokens", nil)
	if strings.Contains(string(raw), issued.Token) || strings.Contains(string(raw), s.Tokens["cora"]) {
		t.Errorf("the token list shows a secret: %s", raw)
	}
	s.Must("cora", "GET", "/v1/users/cora/tokens", nil, http.StatusOK, &list)
	if len(list.Tokens) != 2 || list.Tokens[1].ID != issued.ID || list.Tokens[1].CreatedBy != "root" || list.Tokens[1].ExpiresAt == nil ||
		list.Tokens[1].Status != store.TokenActive || list.Tokens[0].LastUsedAt == nil {
		t.Errorf("tokens %+v", list.Tokens)
	}
	s.Fails("cora", "GET", "/v1/users/root/tokens", nil, http.StatusForbidden, "admin")
	s.Fails("root", "GET", "/v1/users/zed/tokens", nil, http.StatusNotFound, "no user")

	// An expired token is refused like a revoked one.
	if _, err := s.Store.DB().ExecContext(t.Context(), `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, issued.ID); err != nil {
		t.Fatal(err)
	}
	s.Fails("cora-ci", "GET", "/v1/me", nil, http.StatusUnauthorized, "invalid token")
	s.Must("root", "GET", "/v1/users/cora/tokens", nil, http.StatusOK, &list)
	if list.Tokens[1].Status != store.TokenExpired {
		t.Errorf("expired token listed as %s", list.Tokens[1].Status)
	}

	// Disabling cuts every token off at once; enabling restores them.
	s.Must("root", "PATCH", "/v1/users/cora", map[string]any{"disabled": true}, http.StatusOK, &u)
	if !u.Disabled() {
		t.Errorf("not disabled: %+v", u)
	}
	s.Fails("cora", "GET", "/v1/me", nil, http.StatusUnauthorized, "invalid token")
	s.Fails("root", "POST", "/v1/users/cora/tokens", nil, http.StatusBadRequest, "disabled")
	s.Must("root", "PATCH", "/v1/users/cora", map[string]any{"disabled": false}, http.StatusOK, &u)
	s.Must("cora", "GET", "/v1/me", nil, http.StatusOK, nil)
	s.Fails("cora-ci", "GET", "/v1/me", nil, http.StatusUnauthorized, "invalid token")

	// Revoking answers 404 for an unknown id.
	s.Fails("root", "DELETE", "/v1/tokens/tok_nope", nil, http.StatusNotFound, "no token")

	// New user ids follow the identifier rule; names are one line.
	s.Fails("root", "POST", "/v1/users", map[string]any{"id": "a..b", "name": "A", "roles": []string{"viewer"}}, http.StatusUnprocessableEntity, "..")
	s.Fails("root", "POST", "/v1/users", map[string]any{"id": "-x", "name": "A", "roles": []string{"viewer"}}, http.StatusUnprocessableEntity, "start with a letter or digit")
	s.Fails("root", "POST", "/v1/users", map[string]any{"id": "ok", "name": "A\u0000", "roles": []string{"viewer"}}, http.StatusUnprocessableEntity, "control character")
	var created struct {
		Token   string `json:"token"`
		TokenID string `json:"token_id"`
	}
	s.Must("root", "POST", "/v1/users", map[string]any{"id": "Dana.Wu", "name": "Dana Wu", "roles": []string{"viewer"}}, http.StatusCreated, &created)
	if created.TokenID != store.TokenID(created.Token) {
		t.Errorf("user creation: token_id %q", created.TokenID)
	}
}

// TestTemplateOwnersAndVersions: a template is its creator's; another PMO
// cannot replace it; its owner and admins save new versions, each readable
// again; a deal records the version it started from.
func TestTemplateOwnersAndVersions(t *testing.T) {
	s := newStack(t)
	s.standardUsers()
	tmpl := func(title string) map[string]any {
		return map[string]any{"name": "gov", "title": title, "milestones": []map[string]any{
			{"key": "a", "title": "A", "role": "pmo", "due": "10d", "review": map[string]any{"reviewers": []string{"approvers"}}}}}
	}
	type view struct {
		Name      string     `json:"name"`
		Title     string     `json:"title"`
		Version   int        `json:"version"`
		Builtin   bool       `json:"builtin"`
		CreatedBy string     `json:"created_by"`
		UpdatedBy string     `json:"updated_by"`
		UpdatedAt *time.Time `json:"updated_at"`
	}
	var saved struct {
		Version   int    `json:"version"`
		CreatedBy string `json:"created_by"`
		UpdatedBy string `json:"updated_by"`
	}
	s.Must("pat", "POST", "/v1/templates", tmpl("v1"), http.StatusCreated, &saved)
	if saved.Version != 1 || saved.CreatedBy != "pat" || saved.UpdatedBy != "pat" {
		t.Errorf("first save %+v", saved)
	}
	s.Fails("pam", "POST", "/v1/templates", tmpl("pam's"), http.StatusForbidden, "template gov belongs to pat: only its creator or an admin may replace it")
	s.Must("pat", "POST", "/v1/templates", tmpl("v2"), http.StatusCreated, &saved)
	s.Must("root", "POST", "/v1/templates", tmpl("v3"), http.StatusCreated, &saved)
	if saved.Version != 3 || saved.CreatedBy != "pat" || saved.UpdatedBy != "root" {
		t.Errorf("admin's save %+v", saved)
	}
	var v view
	s.Must("vic", "GET", "/v1/templates/gov", nil, http.StatusOK, &v)
	if v.Name != "gov" || v.Title != "v3" || v.Version != 3 || v.CreatedBy != "pat" || v.UpdatedBy != "root" || v.UpdatedAt == nil || v.Builtin {
		t.Errorf("latest %+v", v)
	}
	s.Must("vic", "GET", "/v1/templates/gov?version=1", nil, http.StatusOK, &v)
	if v.Title != "v1" || v.Version != 1 || v.UpdatedBy != "pat" {
		t.Errorf("version 1 %+v", v)
	}
	s.Fails("vic", "GET", "/v1/templates/gov?version=9", nil, http.StatusNotFound, "no version 9")
	s.Fails("vic", "GET", "/v1/templates/gov?version=x", nil, http.StatusBadRequest, "version")
	s.Must("vic", "GET", "/v1/templates/project", nil, http.StatusOK, &v)
	if v.Version != 0 || !v.Builtin || v.Name != "project" {
		t.Errorf("built-in %+v", v)
	}
	s.Must("vic", "GET", "/v1/templates/project?version=0", nil, http.StatusOK, nil)
	s.Fails("vic", "GET", "/v1/templates/project?version=2", nil, http.StatusNotFound, "built-in")

	s.Must("pat", "POST", "/v1/deals", map[string]any{"id": "gov-1", "name": "Gov", "customer": "City", "template": "gov",
		"team": map[string]any{"pmo": "pat", "approvers": []string{"ann"}}}, http.StatusCreated, nil)
	if d := s.Deal("pat", "gov-1"); d.Template != "gov" || d.TemplateVersion != 3 || d.Milestones[0].Title != "A" {
		t.Errorf("deal from gov: template %s v%d", d.Template, d.TemplateVersion)
	}
	s.teamDeal("builtin-1")
	if d := s.Deal("pat", "builtin-1"); d.TemplateVersion != 0 {
		t.Errorf("deal from a built-in template: v%d", d.TemplateVersion)
	}
}

// TestCoverageAuthorship: who posts events in whose name, as JSON and CSV.
func TestCoverageAuthorship(t *testing.T) {
	s := newStack(t)
	s.coverageUsers()
	s.User("olga", "commercial")
	s.Must("pat", "POST", "/v1/coverage/programs", programBody("east"), http.StatusCreated, nil)
	s.postCSV("pat", "/v1/coverage/programs/east/accounts", accountsCSV(3), http.StatusOK, nil)
	const events = "/v1/coverage/programs/east/events"
	signing := func(id, by string) []map[string]any {
		return []map[string]any{{"id": id, "account": "acc-001", "kind": "bd_signing", "by": by}}
	}
	s.Fails("olga", "POST", events, signing("g1", "bo"), http.StatusForbidden, "you (olga) are not on program east's teams")
	s.Fails("olga", "POST", events, signing("g1", "olga"), http.StatusForbidden, "not on program east's teams")
	s.Fails("ben", "POST", events, signing("g1", "bo"), http.StatusForbidden, `event g1 is in "bo"'s name, not yours (ben)`)
	s.Fails("lena", "POST", events, signing("g1", "ben"), http.StatusForbidden, "lead of program east's bd team (bo)")
	s.failsCSV("sid", events, "id,account,kind,by,stage\nt1,acc-000,sdr_touch,sid,needs_probed\nt2,acc-000,sdr_touch,sue,needs_probed\n",
		http.StatusForbidden, `event t2 is in "sue"'s name`)
	s.Fails("pete", "POST", events, []map[string]any{{"id": "r1", "account": "acc-002", "kind": "solution_reviewed", "solution": "erp", "round": 1,
		"result": "approved", "by": "pia"}}, http.StatusForbidden, "presales team (pia)")
	if n := s.Count(`SELECT count(*) FROM coverage_events`); n != 0 {
		t.Fatalf("%d events stored by refused posts", n)
	}
	var ingest store.EventIngest
	s.Must("ben", "POST", events, signing("g1", "ben"), http.StatusOK, &ingest)
	s.Must("bo", "POST", events, signing("g2", "ben"), http.StatusOK, &ingest)
	s.Must("pat", "POST", events, signing("g3", "bo"), http.StatusOK, &ingest)
	s.postCSV("lena", events, "id,account,kind,by,stage\nt1,acc-000,sdr_touch,sid,needs_probed\n", http.StatusOK, &ingest)
	if n := s.Count(`SELECT count(*) FROM coverage_events`); n != 4 {
		t.Errorf("%d events stored, want 4", n)
	}
}
