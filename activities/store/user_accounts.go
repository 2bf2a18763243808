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
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/problem"
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
	CreatedBy  string     `json:"created_by,omitempty" db:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty" db:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty" db:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty" db:"revoked_at"`
	// Status is active, expired or revoked (revoked wins), as of the listing.
	Status string `json:"status" db:"-"`
}

// Token statuses.
const (
	TokenActive  = "active"
	TokenExpired = "expired"
	TokenRevoked = "revoked"
)

// status says whether t works at now (its user aside).
func (t *Token) status(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return TokenRevoked
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return TokenExpired
	}
	return TokenActive
}

// IssuedToken answers the issuing of a token: its public id (to list and
// revoke it), the secret, shown this once, and when it expires (nil: never).
type IssuedToken struct {
	ID        string     `json:"id"`
	Token     string     `json:"token"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// TokenRequest is what IssueToken needs: whose token, a note on where it is
// used, who issues it (recorded; "" for the command line) and when it
// expires (nil: never).
type TokenRequest struct {
	UserID    string
	Name      string
	By        string
	ExpiresAt *time.Time
}

// Auth is who a token authenticates: the user, and the token's id and
// expiry (for callers that remember accepted tokens, see the API's cache).
type Auth struct {
	User      *User
	TokenID   string
	ExpiresAt *time.Time
}

// TokenID returns the public id of a token's secret: the id its row has.
func TokenID(token string) string { return TokenIDOfHash(sha256.Sum256([]byte(token))) }

// TokenIDOfHash returns the public id of the token whose SHA-256 is hash.
func TokenIDOfHash(hash [sha256.Size]byte) string { return "tok_" + hex.EncodeToString(hash[:8]) }

const (
	sqlUserColumns = `id, name, email, roles, created_at, disabled_at`
	sqlInsertUser  = `INSERT INTO users (id, name, email, roles) VALUES ($1, $2, $3, $4) RETURNING ` + sqlUserColumns
	sqlGetUser     = `SELECT ` + sqlUserColumns + ` FROM users WHERE id = $1`
	sqlListUsers   = `SELECT ` + sqlUserColumns + ` FROM users ORDER BY id`
	sqlKnownUsers  = `SELECT id FROM users WHERE id = ANY($1::text[]) AND disabled_at IS NULL`
	// A NULL argument keeps the column; $5 true disables (keeping the first
	// time), false enables.
	sqlUpdateUser = `
UPDATE users SET name = COALESCE($2::text, name), email = COALESCE($3::text, email),
	roles = COALESCE($4::text[], roles),
	disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5 THEN COALESCE(disabled_at, now()) ELSE NULL END
WHERE id = $1 RETURNING ` + sqlUserColumns
	// sqlActiveAdmins lists the users who can act as admins (they also get
	// the notices about parked recordings).
	sqlActiveAdmins      = `SELECT id FROM users WHERE disabled_at IS NULL AND 'admin' = ANY (roles) ORDER BY id`
	sqlCountActiveAdmins = `SELECT count(*) FROM (` + sqlActiveAdmins + `) AS admins`
	sqlLockAdmins        = `SELECT pg_advisory_xact_lock(6864447001)` // "admins": any fixed key

	sqlTokenColumns = `id, user_id, name, created_at, created_by, last_used_at, expires_at, revoked_at`
	sqlInsertToken  = `INSERT INTO api_tokens (id, user_id, token_hash, name, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`
	sqlListTokens   = `SELECT ` + sqlTokenColumns + ` FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id`
	sqlGetToken     = `SELECT ` + sqlTokenColumns + ` FROM api_tokens WHERE id = $1`
	sqlRevokeToken  = `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1`
	sqlTokenByHash  = `
SELECT t.id AS token_id, t.token_hash, t.revoked_at AS token_revoked_at, t.expires_at AS token_expires_at,
	t.expires_at IS NOT NULL AND t.expires_at <= now() AS token_expired,
	t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' AS touch,
	u.id, u.name, u.email, u.roles, u.created_at, u.disabled_at
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1`
	sqlTouchToken = `
UPDATE api_tokens SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`
)

// CreateUser adds a user. ID is an identifier (problem.KeyError: letters,
// digits, '.', '_' or '-', at most 64); Name is a required one-line label;
// Email is optional; every role must be one of Roles. Bad values return a
// *problem.Error naming each field; a taken id or email returns
// ErrDuplicate.
func (s *Store) CreateUser(ctx context.Context, u User) (*User, error) {
	u.Name, u.Email = strings.TrimSpace(u.Name), strings.TrimSpace(u.Email)
	var ps problem.List
	ps.Key("id", u.ID)
	checkUserFields(&ps, &u.Name, &u.Email)
	roles := checkRoles(&ps, u.Roles)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	var row userRow
	if err := s.db.QueryRowxContext(ctx, sqlInsertUser, u.ID, u.Name, u.Email, roles).StructScan(&row); err != nil {
		return nil, fmt.Errorf("store: creating user: %w", mapErr(err, "user "+u.ID))
	}
	return row.user(), nil
}

// checkUserFields checks a user's name (required) and email (optional);
// nil pointers are not checked (a patch that leaves them).
func checkUserFields(ps *problem.List, name, email *string) {
	if name != nil {
		if *name == "" {
			ps.Add("name", "a user needs a name")
		} else {
			ps.Line("name", *name, problem.MaxName)
		}
	}
	if email != nil && *email != "" {
		if msg := problem.LineError(*email, problem.MaxLink); msg != "" {
			ps.Add("email", "%s", msg)
		} else if !strings.Contains(*email, "@") || strings.ContainsAny(*email, " \t\r\n") {
			ps.Add("email", "%q is not an email address", *email)
		}
	}
}

// checkRoles checks roles and returns them without repeats.
func checkRoles(ps *problem.List, rs []Role) pq.StringArray {
	roles := pq.StringArray{}
	for _, r := range rs {
		if !slices.Contains(Roles, r) {
			ps.Add("roles", "unknown role %q: use %s", r, joinRoles())
			continue
		}
		if !slices.Contains(roles, string(r)) {
			roles = append(roles, string(r))
		}
	}
	return roles
}

// UserPatch changes some of a user's fields; nil ones stay as they are.
type UserPatch struct {
	Name     *string `json:"name"`
	Email    *string `json:"email"`
	Roles    *[]Role `json:"roles"`
	Disabled *bool   `json:"disabled"`
}

// UpdateUser changes a user's name, email, roles or whether they are
// disabled. Disabling takes effect at once: every token of the user is
// refused from the next request on (Authenticate reads the user with the
// token), and enabling lets the tokens that are neither revoked nor expired
// work again. The change may not leave dealflow without an active admin.
// Bad values return a *problem.Error; an unknown user ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, id string, p UserPatch) (*User, error) {
	var ps problem.List
	if p.Name != nil {
		*p.Name = strings.TrimSpace(*p.Name)
	}
	if p.Email != nil {
		*p.Email = strings.TrimSpace(*p.Email)
	}
	checkUserFields(&ps, p.Name, p.Email)
	var roles any // NULL keeps the roles
	if p.Roles != nil {
		roles = checkRoles(&ps, *p.Roles)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	var out *User
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		var before userRow
		if err := tx.QueryRowxContext(ctx, sqlGetUser+` FOR UPDATE`, id).StructScan(&before); err != nil {
			return mapErr(err, "user "+id)
		}
		wasAdmin := before.user().activeAdmin()
		if wasAdmin {
			// Serialise changes to admins, so that two admins disabling
			// each other at once cannot both succeed.
			if _, err := tx.ExecContext(ctx, sqlLockAdmins); err != nil {
				return err
			}
		}
		var row userRow
		if err := tx.QueryRowxContext(ctx, sqlUpdateUser, id, p.Name, p.Email, roles, p.Disabled).StructScan(&row); err != nil {
			return mapErr(err, "user "+id)
		}
		out = row.user()
		if !wasAdmin || out.activeAdmin() {
			return nil
		}
		var admins int
		if err := tx.GetContext(ctx, &admins, sqlCountActiveAdmins); err != nil {
			return err
		}
		if admins == 0 {
			return inputErr("roles", "user %s is the last active admin: make another user an admin first", id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (u *User) activeAdmin() bool { return u.HasRole(RoleAdmin) && !u.Disabled() }

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

// DisableUser disables a user (UpdateUser with Disabled): their tokens stop
// working at once. Disabling a disabled user changes nothing. Unknown users
// return ErrNotFound.
func (s *Store) DisableUser(ctx context.Context, id string) error {
	disabled := true
	_, err := s.UpdateUser(ctx, id, UserPatch{Disabled: &disabled})
	return err
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

// CreateToken issues a token that never expires, recorded as issued by
// nobody (the command line, tests); see IssueToken.
func (s *Store) CreateToken(ctx context.Context, userID, name string) (string, error) {
	t, err := s.IssueToken(ctx, TokenRequest{UserID: userID, Name: name})
	if err != nil {
		return "", err
	}
	return t.Token, nil
}

// IssueToken issues a new API token for a user and returns its id and
// plaintext, which is shown once: only its SHA-256 is stored. Unknown users
// return ErrNotFound; disabled users cannot get tokens, and an expiry must be
// in the future (an *InputError); a bad name is a *problem.Error.
func (s *Store) IssueToken(ctx context.Context, r TokenRequest) (*IssuedToken, error) {
	r.Name = strings.TrimSpace(r.Name)
	var ps problem.List
	ps.Line("name", r.Name, problem.MaxName)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	if r.ExpiresAt != nil {
		at := r.ExpiresAt.UTC().Truncate(time.Microsecond) // what Postgres keeps
		if !at.After(time.Now()) {
			return nil, inputErr("expires_at", "%s is not in the future", at.Format(time.RFC3339))
		}
		r.ExpiresAt = &at
	}
	u, err := s.GetUser(ctx, r.UserID)
	if err != nil {
		return nil, err
	}
	if u.Disabled() {
		return nil, inputErr("user_id", "user %s is disabled", r.UserID)
	}
	secret := make([]byte, tokenBytes)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("store: generating token: %w", err)
	}
	plaintext := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	hash := sha256.Sum256([]byte(plaintext))
	id := TokenIDOfHash(hash) // public handle, not the secret
	if _, err := s.db.ExecContext(ctx, sqlInsertToken, id, r.UserID, hash[:], r.Name, r.By, r.ExpiresAt); err != nil {
		if pq.As(err, codeForeignKeyViolation) != nil {
			return nil, fmt.Errorf("user %s: %w", r.UserID, ErrNotFound)
		}
		return nil, fmt.Errorf("store: creating token: %w", mapErr(err, "token"))
	}
	return &IssuedToken{ID: id, Token: plaintext, ExpiresAt: r.ExpiresAt}, nil
}

// ListTokens returns a user's tokens (metadata only), oldest first.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	out := []Token{}
	if err := sqlx.SelectContext(ctx, s.db, &out, sqlListTokens, userID); err != nil {
		return nil, fmt.Errorf("store: listing tokens: %w", err)
	}
	now := time.Now()
	for i := range out {
		out[i].Status = out[i].status(now)
	}
	return out, nil
}

// GetToken returns a token's metadata by id, or ErrNotFound.
func (s *Store) GetToken(ctx context.Context, tokenID string) (*Token, error) {
	var t Token
	if err := sqlx.GetContext(ctx, s.db, &t, sqlGetToken, tokenID); err != nil {
		return nil, mapErr(err, "token "+tokenID)
	}
	t.Status = t.status(time.Now())
	return &t, nil
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

// Authenticate returns the user a token belongs to (see AuthenticateToken).
func (s *Store) Authenticate(ctx context.Context, token string) (*User, error) {
	a, err := s.AuthenticateToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return a.User, nil
}

// AuthenticateToken returns the user a token belongs to, with the token's
// id and expiry. It fails with an error wrapping ErrUnauthenticated when the
// token is malformed, unknown, revoked, expired, or its user is disabled.
// The lookup is by the token's SHA-256, so its timing does not depend on how
// much of a guess is right; last_used_at is updated at most once a minute
// per token.
func (s *Store) AuthenticateToken(ctx context.Context, token string) (*Auth, error) {
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return nil, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	hash := sha256.Sum256([]byte(token))
	var row struct {
		userRow
		TokenID      string     `db:"token_id"`
		TokenHash    []byte     `db:"token_hash"`
		TokenRevoked *time.Time `db:"token_revoked_at"`
		TokenExpires *time.Time `db:"token_expires_at"`
		TokenExpired bool       `db:"token_expired"`
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
	if row.TokenExpired {
		return nil, fmt.Errorf("%w: token %s expired", ErrUnauthenticated, row.TokenID)
	}
	if row.DisabledAt != nil {
		return nil, fmt.Errorf("%w: user %s is disabled", ErrUnauthenticated, row.ID)
	}
	if row.Touch {
		// Best effort: a missed last_used_at must not lock anyone out.
		_, _ = s.db.ExecContext(ctx, sqlTouchToken, row.TokenID)
	}
	return &Auth{User: row.user(), TokenID: row.TokenID, ExpiresAt: row.TokenExpires}, nil
}
