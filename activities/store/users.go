package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Role is what a user may do in dealflow (distinct from the milestone roles
// a user holds on one deal's team).
type Role string

// User roles.
const (
	RoleAdmin      Role = "admin"
	RolePMO        Role = "pmo"
	RoleCommercial Role = "commercial"
	RoleSolution   Role = "solution"
	RoleApprover   Role = "approver"
	RoleDirector   Role = "director"
	RoleViewer     Role = "viewer"
)

// Roles lists every user role.
var Roles = []Role{RoleAdmin, RolePMO, RoleCommercial, RoleSolution, RoleApprover, RoleDirector, RoleViewer}

// User is a person who signs in with API tokens.
type User struct {
	ID         string     `json:"id" db:"id"`
	Name       string     `json:"name" db:"name"`
	Email      string     `json:"email,omitempty" db:"email"`
	Roles      []Role     `json:"roles" db:"-"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	DisabledAt *time.Time `json:"disabled_at,omitempty" db:"disabled_at"`
}

// HasRole reports whether u has role r.
func (u *User) HasRole(r Role) bool { return slices.Contains(u.Roles, r) }

// Disabled reports whether the user is disabled.
func (u *User) Disabled() bool { return u.DisabledAt != nil }

// userRow is the users table's row.
type userRow struct {
	ID         string         `db:"id"`
	Name       string         `db:"name"`
	Email      string         `db:"email"`
	Roles      pq.StringArray `db:"roles"`
	CreatedAt  time.Time      `db:"created_at"`
	DisabledAt *time.Time     `db:"disabled_at"`
}

func (r userRow) user() *User {
	u := &User{ID: r.ID, Name: r.Name, Email: r.Email, CreatedAt: r.CreatedAt, DisabledAt: r.DisabledAt, Roles: []Role{}}
	for _, role := range r.Roles {
		u.Roles = append(u.Roles, Role(role))
	}
	return u
}

// Token is an API token's metadata; the secret itself is never stored.
type Token struct {
	ID         string     `json:"id" db:"id"`
	UserID     string     `json:"user_id" db:"user_id"`
	Name       string     `json:"name" db:"name"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty" db:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty" db:"revoked_at"`
}

const (
	sqlUserColumns = `id, name, email, roles, created_at, disabled_at`
	sqlInsertUser  = `INSERT INTO users (id, name, email, roles) VALUES ($1, $2, $3, $4) RETURNING ` + sqlUserColumns
	sqlGetUser     = `SELECT ` + sqlUserColumns + ` FROM users WHERE id = $1`
	sqlListUsers   = `SELECT ` + sqlUserColumns + ` FROM users ORDER BY id`
	sqlDisableUser = `UPDATE users SET disabled_at = COALESCE(disabled_at, now()) WHERE id = $1`
	sqlKnownUsers  = `SELECT id FROM users WHERE id = ANY($1::text[]) AND disabled_at IS NULL`

	sqlTokenColumns = `id, user_id, name, created_at, last_used_at, revoked_at`
	sqlInsertToken  = `INSERT INTO api_tokens (id, user_id, token_hash, name) VALUES ($1, $2, $3, $4)`
	sqlListTokens   = `SELECT ` + sqlTokenColumns + ` FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id`
	sqlRevokeToken  = `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`
	sqlTokenByHash  = `
SELECT t.id AS token_id, t.token_hash, t.revoked_at AS token_revoked_at,
	t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' AS touch,
	u.id, u.name, u.email, u.roles, u.created_at, u.disabled_at
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1`
	sqlTouchToken = `
UPDATE api_tokens SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`
)

var userIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// CreateUser adds a user. ID must be lowercase letters, digits, '.', '_' or
// '-' (at most 64); Name is required; Email is optional; every role must be
// one of Roles. A taken id or email returns ErrDuplicate.
func (s *Store) CreateUser(ctx context.Context, u User) (*User, error) {
	u.Name, u.Email = strings.TrimSpace(u.Name), strings.TrimSpace(u.Email)
	if !userIDPattern.MatchString(u.ID) {
		return nil, inputErr("id", "user id %q must be 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", u.ID)
	}
	if u.Name == "" {
		return nil, inputErr("name", "a user needs a name")
	}
	if u.Email != "" && (!strings.Contains(u.Email, "@") || strings.ContainsAny(u.Email, " \t\r\n")) {
		return nil, inputErr("email", "%q is not an email address", u.Email)
	}
	roles := pq.StringArray{}
	for _, r := range u.Roles {
		if !slices.Contains(Roles, r) {
			return nil, inputErr("roles", "unknown role %q: use %s", r, joinRoles())
		}
		if !slices.Contains(roles, string(r)) {
			roles = append(roles, string(r))
		}
	}
	var row userRow
	if err := s.db.QueryRowxContext(ctx, sqlInsertUser, u.ID, u.Name, u.Email, roles).StructScan(&row); err != nil {
		return nil, fmt.Errorf("store: creating user: %w", mapErr(err, "user "+u.ID))
	}
	return row.user(), nil
}

func joinRoles() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// GetUser returns a user, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (*User, error) {
	var row userRow
	if err := s.db.QueryRowxContext(ctx, sqlGetUser, id).StructScan(&row); err != nil {
		return nil, mapErr(err, "user "+id)
	}
	return row.user(), nil
}

// ListUsers returns every user, disabled ones included, by id.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := sqlx.SelectContext(ctx, s.db, &rows, sqlListUsers); err != nil {
		return nil, fmt.Errorf("store: listing users: %w", err)
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = *r.user()
	}
	return out, nil
}

// DisableUser disables a user: their tokens stop working at once. Disabling
// a disabled user changes nothing. Unknown users return ErrNotFound.
func (s *Store) DisableUser(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, sqlDisableUser, id)
	if err != nil {
		return fmt.Errorf("store: disabling user %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", id, ErrNotFound)
	}
	return nil
}

// MissingUsers returns those of ids that are not active users (unknown or
// disabled), in the order given; the API uses it to check a deal's team.
func (s *Store) MissingUsers(ctx context.Context, ids []string) ([]string, error) {
	var known []string
	if err := sqlx.SelectContext(ctx, s.db, &known, sqlKnownUsers, pq.StringArray(ids)); err != nil {
		return nil, fmt.Errorf("store: checking users: %w", err)
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(known, id) && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// TokenPrefix starts every API token, so leaked tokens are recognisable
// (secret scanners) and junk is rejected without a database lookup.
const TokenPrefix = "dfl_"

const tokenBytes = 32

var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// CreateToken issues a new API token for a user and returns its plaintext,
// which is shown once: only its SHA-256 is stored. Unknown users return
// ErrNotFound; disabled users cannot get tokens (an *InputError).
func (s *Store) CreateToken(ctx context.Context, userID, name string) (string, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return "", err
	}
	if u.Disabled() {
		return "", inputErr("user_id", "user %s is disabled", userID)
	}
	secret := make([]byte, tokenBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("store: generating token: %w", err)
	}
	plaintext := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	hash := sha256.Sum256([]byte(plaintext))
	id := "tok_" + hex.EncodeToString(hash[:8]) // public handle, not the secret
	if _, err := s.db.ExecContext(ctx, sqlInsertToken, id, userID, hash[:], strings.TrimSpace(name)); err != nil {
		if pq.As(err, codeForeignKeyViolation) != nil {
			return "", fmt.Errorf("user %s: %w", userID, ErrNotFound)
		}
		return "", fmt.Errorf("store: creating token: %w", mapErr(err, "token"))
	}
	return plaintext, nil
}

// ListTokens returns a user's tokens (metadata only), oldest first.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	out := []Token{}
	if err := sqlx.SelectContext(ctx, s.db, &out, sqlListTokens, userID); err != nil {
		return nil, fmt.Errorf("store: listing tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes a token by id (see ListTokens); revoking twice changes
// nothing. Unknown ids return ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, tokenID string) error {
	res, err := s.db.ExecContext(ctx, sqlRevokeToken, tokenID)
	if err != nil {
		return fmt.Errorf("store: revoking token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %s: %w", tokenID, ErrNotFound)
	}
	return nil
}

// Authenticate returns the user a token belongs to. It fails with an error
// wrapping ErrUnauthenticated when the token is malformed, unknown, revoked,
// or its user is disabled. The lookup is by the token's SHA-256, so its
// timing does not depend on how much of a guess is right; last_used_at is
// updated at most once a minute per token.
func (s *Store) Authenticate(ctx context.Context, token string) (*User, error) {
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return nil, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	hash := sha256.Sum256([]byte(token))
	var row struct {
		userRow
		TokenID      string     `db:"token_id"`
		TokenHash    []byte     `db:"token_hash"`
		TokenRevoked *time.Time `db:"token_revoked_at"`
		Touch        bool       `db:"touch"`
	}
	err := s.db.QueryRowxContext(ctx, sqlTokenByHash, hash[:]).StructScan(&row)
	if err != nil {
		if err = mapErr(err, "token"); errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
		}
		return nil, fmt.Errorf("store: authenticating: %w", err)
	}
	if subtle.ConstantTimeCompare(row.TokenHash, hash[:]) != 1 {
		return nil, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	if row.TokenRevoked != nil {
		return nil, fmt.Errorf("%w: token %s was revoked", ErrUnauthenticated, row.TokenID)
	}
	if row.DisabledAt != nil {
		return nil, fmt.Errorf("%w: user %s is disabled", ErrUnauthenticated, row.ID)
	}
	if row.Touch {
		// Best effort: a missed last_used_at must not lock anyone out.
		_, _ = s.db.ExecContext(ctx, sqlTouchToken, row.TokenID)
	}
	return row.user(), nil
}
