package api

import (
	"testing"
	"time"

	"dealflow/activities/store"
)

func TestTokenCache(t *testing.T) {
	c := newTokenCache()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	pat := &store.User{ID: "pat"}
	c.remember("dfl_pat", pat, now)
	if u, ok := c.recall("dfl_pat", now.Add(tokenGrace-time.Second)); !ok || u != pat {
		t.Errorf("recall within the grace period: %v %v", u, ok)
	}
	if _, ok := c.recall("dfl_pat", now.Add(tokenGrace+time.Second)); ok {
		t.Error("recalled after the grace period")
	}
	if _, ok := c.recall("dfl_other", now); ok {
		t.Error("recalled a token never seen")
	}
	for i := range maxCachedTokens + 10 {
		c.remember(string(rune(i))+"tok", pat, now)
	}
	if n := len(c.users); n > maxCachedTokens {
		t.Errorf("cache holds %d tokens, bound %d", n, maxCachedTokens)
	}
}
