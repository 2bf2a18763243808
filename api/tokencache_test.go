package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"dealflow/activities/store"
)

func TestTokenCache(t *testing.T) {
	c := newTokenCache()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	pat := &store.User{ID: "pat"}
	c.remember("dfl_pat", &store.Auth{User: pat}, now)
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
		c.remember(string(rune(i))+"tok", &store.Auth{User: pat}, now)
	}
	if n := len(c.users); n > maxCachedTokens {
		t.Errorf("cache holds %d tokens, bound %d", n, maxCachedTokens)
	}
}

// TestTokenCacheExpiry: a token is never recalled past its own expiry, even
// within the grace period.
func TestTokenCacheExpiry(t *testing.T) {
	c := newTokenCache()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	expires := now.Add(time.Minute)
	c.remember("dfl_ci", &store.Auth{User: &store.User{ID: "ci"}, ExpiresAt: &expires}, now)
	if _, ok := c.recall("dfl_ci", now.Add(30*time.Second)); !ok {
		t.Error("not recalled before its expiry")
	}
	if _, ok := c.recall("dfl_ci", now.Add(time.Minute)); ok {
		t.Error("recalled at its expiry")
	}
}

// TestTokenCacheForgets: revoking a token by id and changing a user drop
// their entries.
func TestTokenCacheForgets(t *testing.T) {
	c := newTokenCache()
	now := time.Now()
	tok1, tok2, tok3 := "dfl_"+fmt.Sprint(1), "dfl_"+fmt.Sprint(2), "dfl_"+fmt.Sprint(3)
	ann, bob := &store.User{ID: "ann"}, &store.User{ID: "bob"}
	c.remember(tok1, &store.Auth{User: ann}, now)
	c.remember(tok2, &store.Auth{User: ann}, now)
	c.remember(tok3, &store.Auth{User: bob}, now)
	c.forgetID(store.TokenID(tok1))
	if _, ok := c.recall(tok1, now); ok {
		t.Error("a revoked token (by id) is still recalled")
	}
	if _, ok := c.recall(tok2, now); !ok {
		t.Error("revoking one token forgot another")
	}
	c.forgetUser("ann")
	if _, ok := c.recall(tok2, now); ok {
		t.Error("a disabled user's token is still recalled")
	}
	if _, ok := c.recall(tok3, now); !ok {
		t.Error("disabling ann forgot bob's token")
	}
}

// fakeAuth answers AuthenticateToken with err, or accepts every token.
type fakeAuth struct{ err error }

func (f *fakeAuth) AuthenticateToken(_ context.Context, token string) (*store.Auth, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &store.Auth{User: &store.User{ID: "pat"}, TokenID: store.TokenID(token)}, nil
}

// TestCheckToken: which store answers let a cached token in, and that a
// refused token is forgotten so that no later error lets it in again.
func TestCheckToken(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	const token = "dfl_pat"
	outages := map[string]error{
		"connection refused": &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
		"dial timeout":       &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}},
		"connection reset":   fmt.Errorf("store: authenticating: %w", syscall.ECONNRESET),
		"connection failure": &pq.Error{Code: "08006"},
		"server shutting":    &pq.Error{Code: "57P01"},
	}
	notOutages := map[string]error{
		"statement timeout": &pq.Error{Code: "57014"},
		"lock timeout":      &pq.Error{Code: "55P03"},
		"too many conns":    &pq.Error{Code: "53300"},
		"context deadline":  fmt.Errorf("store: authenticating: %w", context.DeadlineExceeded),
		"other error":       errors.New("syntax error at or near SELECT"),
	}
	for name, err := range outages {
		cache := newTokenCache()
		if _, e := checkToken(ctx, &fakeAuth{}, cache, token, now); e != nil {
			t.Fatal(e)
		}
		if u, e := checkToken(ctx, &fakeAuth{err: err}, cache, token, now.Add(time.Minute)); e != nil || u.ID != "pat" {
			t.Errorf("%s: a token seen a minute ago: %v %v, want it let in", name, u, e)
		}
		if u, e := checkToken(ctx, &fakeAuth{err: err}, cache, "dfl_stranger", now); e == nil || !store.IsOutage(e) {
			t.Errorf("%s: a token never seen: %v %v, want the outage error", name, u, e)
		}
	}
	for name, err := range notOutages {
		cache := newTokenCache()
		if _, e := checkToken(ctx, &fakeAuth{}, cache, token, now); e != nil {
			t.Fatal(e)
		}
		if u, e := checkToken(ctx, &fakeAuth{err: err}, cache, token, now.Add(time.Minute)); !errors.Is(e, err) || u != nil {
			t.Errorf("%s: %v %v, want the error and nobody let in", name, u, e)
		}
	}
	// Refused (revoked, expired, disabled): forgotten, so an outage right
	// after does not let it in.
	for _, why := range []string{"token tok_1 was revoked", "token tok_1 expired", "user pat is disabled"} {
		cache := newTokenCache()
		if _, e := checkToken(ctx, &fakeAuth{}, cache, token, now); e != nil {
			t.Fatal(e)
		}
		refused := fmt.Errorf("%w: %s", store.ErrUnauthenticated, why)
		if _, e := checkToken(ctx, &fakeAuth{err: refused}, cache, token, now); !errors.Is(e, store.ErrUnauthenticated) {
			t.Errorf("%s: %v", why, e)
		}
		outage := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		if u, e := checkToken(ctx, &fakeAuth{err: outage}, cache, token, now); e == nil {
			t.Errorf("%s, then an outage: let in as %v", why, u)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
