package api

import (
	"crypto/sha256"
	"sync"
	"time"

	"dealflow/activities/store"
)

// tokenCache remembers the tokens this API accepted recently, so people
// can keep working on their deals while Postgres is down: deal state lives
// in Temporal. The rules (see authenticate):
//
//   - it is consulted only on an outage (store.IsOutage: the connection was
//     refused, reset or timed out), never when Postgres answers with an
//     error such as a statement or lock timeout: those are 503s;
//   - a token the store refuses (unknown, revoked, expired, its user
//     disabled) is forgotten at once, and so are the tokens an admin
//     revokes and the tokens of a user an admin disables through this API;
//   - an entry lasts tokenGrace from the last time the store accepted the
//     token, and never past the token's own expiry.
//
// So during an outage a token works only if this process saw the store
// accept it less than tokenGrace ago and has not seen it refused or revoked
// since; a token revoked elsewhere (another API process, the CLI) in the
// tokenGrace before an outage may still work here until the outage ends.
type tokenCache struct {
	mu    sync.Mutex
	users map[[sha256.Size]byte]cachedUser
}

type cachedUser struct {
	user    *store.User
	seen    time.Time
	expires *time.Time // the token's expiry; nil: none
}

// tokenGrace is how long an accepted token is remembered for outages.
const tokenGrace = 15 * time.Minute

// maxCachedTokens bounds the cache; past it, the oldest entries go.
const maxCachedTokens = 10_000

func newTokenCache() *tokenCache {
	return &tokenCache{users: map[[sha256.Size]byte]cachedUser{}}
}

// remember records that the store accepted token for a at now.
func (c *tokenCache) remember(token string, a *store.Auth, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.users) >= maxCachedTokens {
		for k, v := range c.users {
			if now.Sub(v.seen) > tokenGrace || len(c.users) >= maxCachedTokens {
				delete(c.users, k)
			}
		}
	}
	c.users[sha256.Sum256([]byte(token))] = cachedUser{user: a.User, seen: now, expires: a.ExpiresAt}
}

// recall returns the user of a token accepted within tokenGrace that has
// not expired by now.
func (c *tokenCache) recall(token string, now time.Time) (*store.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := sha256.Sum256([]byte(token))
	e, ok := c.users[key]
	if !ok {
		return nil, false
	}
	if now.Sub(e.seen) > tokenGrace || (e.expires != nil && !now.Before(*e.expires)) {
		delete(c.users, key)
		return nil, false
	}
	return e.user, true
}

// forget drops a token the store refused.
func (c *tokenCache) forget(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.users, sha256.Sum256([]byte(token)))
}

// forgetID drops the token with this public id (see store.TokenID), which
// is derived from the same hash the cache keys on.
func (c *tokenCache) forgetID(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.users {
		if store.TokenIDOfHash(k) == id {
			delete(c.users, k)
		}
	}
}

// forgetUser drops every token of a user (disabled, or roles changed).
func (c *tokenCache) forgetUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.users {
		if v.user.ID == userID {
			delete(c.users, k)
		}
	}
}
