package store_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/workflows/problem"
)

func TestUsers(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, store.User{ID: "alice", Name: " Alice Liu ", Email: "alice@example.com",
		Roles: []store.Role{store.RolePMO, store.RoleApprover, store.RolePMO}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Alice Liu" || len(u.Roles) != 2 || !u.HasRole(store.RoleApprover) || u.CreatedAt.IsZero() || u.Disabled() {
		t.Errorf("created %+v", u)
	}
	if _, err := s.CreateUser(ctx, store.User{ID: "alice", Name: "Other"}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("duplicate id: %v", err)
	}
	if _, err := s.CreateUser(ctx, store.User{ID: "alice2", Name: "Other", Email: "ALICE@example.com"}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("duplicate email: %v", err)
	}
	for name, bad := range map[string]store.User{
		"id":    {ID: "Bad Id", Name: "x"},
		"name":  {ID: "x", Name: " "},
		"email": {ID: "x", Name: "x", Email: "not-an-address"},
		"roles": {ID: "x", Name: "x", Roles: []store.Role{"king"}},
	} {
		var pe *problem.Error
		if _, err := s.CreateUser(ctx, bad); !errors.As(err, &pe) || pe.Problems[0].Field != name {
			t.Errorf("bad %s: %v", name, err)
		}
	}
	for name, bad := range map[string]store.User{
		"id with ..":        {ID: "a..b", Name: "x"},
		"id too long":       {ID: strings.Repeat("a", 65), Name: "x"},
		"name on two lines": {ID: "x", Name: "x\ny"},
		"name too long":     {ID: "x", Name: strings.Repeat("n", problem.MaxName+1)},
		"email with NUL":    {ID: "x", Name: "x", Email: "a\x00@example.com"},
	} {
		var pe *problem.Error
		if _, err := s.CreateUser(ctx, bad); !errors.As(err, &pe) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.CreateUser(ctx, store.User{ID: "bob", Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, "alice")
	if err != nil || got.Email != "alice@example.com" || len(got.Roles) != 2 {
		t.Errorf("GetUser = %+v, %v", got, err)
	}
	if _, err := s.GetUser(ctx, "zed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(zed) = %v", err)
	}
	all, err := s.ListUsers(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "alice" || all[1].ID != "bob" || all[1].Roles == nil {
		t.Errorf("ListUsers = %+v, %v", all, err)
	}
	if err := s.DisableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableUser(ctx, "bob"); err != nil {
		t.Errorf("disabling twice: %v", err)
	}
	if err := s.DisableUser(ctx, "zed"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DisableUser(zed) = %v", err)
	}
	missing, err := s.MissingUsers(ctx, []string{"alice", "bob", "zed", "zed"})
	if err != nil || strings.Join(missing, ",") != "bob,zed" {
		t.Errorf("MissingUsers = %v, %v", missing, err)
	}
}

func TestTokens(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, id := range []string{"alice", "bob"} {
		if _, err := s.CreateUser(ctx, store.User{ID: id, Name: id, Roles: []store.Role{store.RoleViewer}}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := s.CreateToken(ctx, "alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, store.TokenPrefix) || len(tok) != len(store.TokenPrefix)+43 {
		t.Errorf("token %q: want dfl_ and 43 base64url characters", tok)
	}

	// Only the hash is stored.
	var stored []byte
	if err := s.DB().QueryRowContext(ctx, `SELECT token_hash FROM api_tokens WHERE user_id = 'alice'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tok))
	if !bytes.Equal(stored, sum[:]) {
		t.Errorf("stored %x, want the SHA-256 of the token", stored)
	}
	if n := count(t, s, `SELECT count(*) FROM api_tokens t WHERE position(convert_to($1, 'UTF8') in t.token_hash) > 0 OR t.name = $1 OR t.id = $1`, tok); n != 0 {
		t.Error("the plaintext token is stored")
	}

	u, err := s.Authenticate(ctx, tok)
	if err != nil || u.ID != "alice" || !u.HasRole(store.RoleViewer) {
		t.Fatalf("Authenticate = %+v, %v", u, err)
	}
	toks, err := s.ListTokens(ctx, "alice")
	if err != nil || len(toks) != 1 || toks[0].Name != "laptop" || toks[0].LastUsedAt == nil {
		t.Fatalf("ListTokens = %+v, %v", toks, err)
	}
	// last_used_at moves at most once a minute.
	first := *toks[0].LastUsedAt
	if _, err := s.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	toks, _ = s.ListTokens(ctx, "alice")
	if !toks[0].LastUsedAt.Equal(first) {
		t.Errorf("last_used_at moved within a minute: %v → %v", first, toks[0].LastUsedAt)
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE api_tokens SET last_used_at = now() - interval '2 minutes'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	toks, _ = s.ListTokens(ctx, "alice")
	if time.Since(*toks[0].LastUsedAt) > time.Minute {
		t.Errorf("last_used_at not refreshed after two minutes: %v", toks[0].LastUsedAt)
	}

	for name, bad := range map[string]string{
		"empty":      "",
		"no prefix":  strings.TrimPrefix(tok, store.TokenPrefix) + "abcd",
		"unknown":    store.TokenPrefix + strings.Repeat("A", 43),
		"truncated":  tok[:len(tok)-1],
		"other case": strings.ToUpper(tok[:4]) + tok[4:],
	} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, store.ErrUnauthenticated) {
			t.Errorf("%s token: %v, want ErrUnauthenticated", name, err)
		}
	}

	// Revoked tokens fail; other tokens of the user keep working.
	tok2, err := s.CreateToken(ctx, "alice", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, toks[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); !errors.Is(err, store.ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := s.Authenticate(ctx, tok2); err != nil {
		t.Errorf("second token after revoking the first: %v", err)
	}
	if err := s.RevokeToken(ctx, "tok_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeToken(unknown) = %v", err)
	}

	// Disabled users fail, and get no new tokens.
	bobTok, err := s.CreateToken(ctx, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DisableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, bobTok); !errors.Is(err, store.ErrUnauthenticated) {
		t.Errorf("disabled user's token: %v", err)
	}
	if _, err := s.CreateToken(ctx, "bob", "again"); !isInputError(err) {
		t.Errorf("token for a disabled user: %v", err)
	}
	if _, err := s.CreateToken(ctx, "zed", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token for an unknown user: %v", err)
	}
}

func TestUpdateUser(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, u := range []store.User{
		{ID: "root", Name: "Root", Roles: []store.Role{store.RoleAdmin}},
		{ID: "cora", Name: "Cora", Email: "cora@example.com", Roles: []store.Role{store.RoleCommercial}},
	} {
		if _, err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := s.CreateToken(ctx, "cora", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	str := func(v string) *string { return &v }
	yes, no := true, false
	roles := []store.Role{store.RolePMO, store.RoleApprover}
	u, err := s.UpdateUser(ctx, "cora", store.UserPatch{Name: str(" Cora Li "), Roles: &roles})
	if err != nil || u.Name != "Cora Li" || u.Email != "cora@example.com" || !u.HasRole(store.RolePMO) || u.HasRole(store.RoleCommercial) {
		t.Fatalf("rename and roles: %+v, %v", u, err)
	}
	if a, err := s.Authenticate(ctx, tok); err != nil || !a.HasRole(store.RolePMO) {
		t.Errorf("the token after a role change: %+v %v (roles apply at the next request)", a, err)
	}
	if u, err = s.UpdateUser(ctx, "cora", store.UserPatch{Disabled: &yes}); err != nil || !u.Disabled() {
		t.Fatalf("disable: %+v, %v", u, err)
	}
	if _, err := s.Authenticate(ctx, tok); !errors.Is(err, store.ErrUnauthenticated) {
		t.Errorf("a disabled user's token: %v", err)
	}
	if u, err = s.UpdateUser(ctx, "cora", store.UserPatch{Disabled: &no}); err != nil || u.Disabled() {
		t.Fatalf("enable: %+v, %v", u, err)
	}
	if _, err := s.Authenticate(ctx, tok); err != nil {
		t.Errorf("the token of a user enabled again: %v", err)
	}
	var pe *problem.Error
	if _, err := s.UpdateUser(ctx, "cora", store.UserPatch{Name: str(""), Email: str("nope"), Roles: &[]store.Role{"king"}}); !errors.As(err, &pe) || len(pe.Problems) != 3 {
		t.Errorf("bad patch: %v", err)
	}
	if _, err := s.UpdateUser(ctx, "zed", store.UserPatch{Disabled: &yes}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	// The last active admin stays one.
	var ie *store.InputError
	if _, err := s.UpdateUser(ctx, "root", store.UserPatch{Disabled: &yes}); !errors.As(err, &ie) || !strings.Contains(ie.Message, "last active admin") {
		t.Errorf("disabling the last admin: %v", err)
	}
	if _, err := s.UpdateUser(ctx, "root", store.UserPatch{Roles: &roles}); !errors.As(err, &ie) {
		t.Errorf("demoting the last admin: %v", err)
	}
	admin := []store.Role{store.RoleAdmin}
	if _, err := s.UpdateUser(ctx, "cora", store.UserPatch{Roles: &admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, "root", store.UserPatch{Disabled: &yes}); err != nil {
		t.Errorf("disabling an admin when another is left: %v", err)
	}
}

func TestTokenExpiry(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, store.User{ID: "alice", Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Hour)
	issued, err := s.IssueToken(ctx, store.TokenRequest{UserID: "alice", Name: "ci", By: "root", ExpiresAt: &soon})
	if err != nil {
		t.Fatal(err)
	}
	if issued.ID != store.TokenID(issued.Token) || issued.ExpiresAt == nil || issued.ExpiresAt.Sub(soon).Abs() > time.Millisecond {
		t.Errorf("issued %+v", issued)
	}
	a, err := s.AuthenticateToken(ctx, issued.Token)
	if err != nil || a.User.ID != "alice" || a.TokenID != issued.ID || a.ExpiresAt == nil {
		t.Fatalf("AuthenticateToken = %+v, %v", a, err)
	}
	forever, err := s.IssueToken(ctx, store.TokenRequest{UserID: "alice", Name: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := s.ListTokens(ctx, "alice")
	if err != nil || len(toks) != 2 || toks[0].CreatedBy != "root" || toks[0].ExpiresAt == nil || toks[0].Status != store.TokenActive ||
		toks[1].ExpiresAt != nil {
		t.Fatalf("ListTokens = %+v, %v", toks, err)
	}
	// Past its expiry a token is refused like a revoked one.
	if _, err := s.DB().ExecContext(ctx, `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, issued.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, issued.Token); !errors.Is(err, store.ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	if _, err := s.Authenticate(ctx, forever.Token); err != nil {
		t.Errorf("the other token: %v", err)
	}
	if tk, err := s.GetToken(ctx, issued.ID); err != nil || tk.Status != store.TokenExpired {
		t.Errorf("GetToken = %+v, %v", tk, err)
	}
	past := time.Now().Add(-time.Minute)
	if _, err := s.IssueToken(ctx, store.TokenRequest{UserID: "alice", ExpiresAt: &past}); !isInputError(err) {
		t.Errorf("an expiry in the past: %v", err)
	}
	var pe *problem.Error
	if _, err := s.IssueToken(ctx, store.TokenRequest{UserID: "alice", Name: "a\x00b"}); !errors.As(err, &pe) {
		t.Errorf("a name with NUL: %v", err)
	}
}
