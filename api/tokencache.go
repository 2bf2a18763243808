package api

import (
	"crypto/sha256"
	"sync"
	"time"

	"dealflow/activities/store"
)

// tokenCache remembers the tokens this API accepted recently, so people
// can keep working on their deals while Postgres is down: deal state lives
// in Temporal. It is consulted only when the store cannot be reached, so a
// revoked token stops working as soon as Postgres answers; during an outage
// a token revoked less than tokenGrace before it still works.
type tokenCache struct {
	mu    sync.Mutex
	users map[[sha256.Size]byte]cachedUser
}

type cachedUser struct {
	user *store.User
	seen time.Time
}

// tokenGrace is how long an accepted token is remembered for outages.
const tokenGrace = 15 * time.Minute

// maxCachedTokens bounds the cache; past it, the oldest entries go.
const maxCachedTokens = 10_000

func newTokenCache() *tokenCache {
	return &tokenCache{users: map[[sha256.Size]byte]cachedUser{}}
}

func (c *tokenCache) remember(token string, u *store.User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.users) >= maxCachedTokens {
		for k, v := range c.users {
			if now.Sub(v.seen) > tokenGrace || len(c.users) >= maxCachedTokens {
				delete(c.users, k)
			}
		}
	}
	c.users[sha256.Sum256([]byte(token))] = cachedUser{user: u, seen: now}
}

// recall returns the user of a token accepted within tokenGrace.
func (c *tokenCache) recall(token string, now time.Time) (*store.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.users[sha256.Sum256([]byte(token))]
	if !ok || now.Sub(e.seen) > tokenGrace {
		return nil, false
	}
	return e.user, true
}
