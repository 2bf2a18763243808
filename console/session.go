package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// sessionCookie names the cookie that carries a sealed session.
const sessionCookie = "dealflow_console"

// session is what the console remembers about a browser. It travels in a
// cookie sealed with AES-GCM under the server's key: the browser can
// neither read the token in it nor forge or alter one. A browser that has
// not signed in has a session too, with a CSRF token and no API token, so
// the sign-in form is protected like every other.
type session struct {
	// Token is the API token the user signed in with; "" before sign-in.
	Token string `json:"t,omitempty"`
	// User and Name and Roles are what GET /v1/me answered at sign-in, for
	// the page header and menus only: every action is authorized by the
	// API with Token.
	User  string   `json:"u,omitempty"`
	Name  string   `json:"n,omitempty"`
	Roles []string `json:"r,omitempty"`
	// CSRF is the value every form of this session must send back.
	CSRF string `json:"c"`
	// Expires ends the session (a signed-in one lasts SessionTTL).
	Expires time.Time `json:"e"`
}

// signedIn reports whether the session holds a token.
func (s *session) signedIn() bool { return s != nil && s.Token != "" }

// HasRole reports whether the user had role at sign-in (admins have all).
func (s *session) HasRole(role string) bool {
	for _, r := range s.Roles {
		if r == role || r == "admin" {
			return true
		}
	}
	return false
}

// sealer seals and opens sessions with one key.
type sealer struct{ aead cipher.AEAD }

// newSealer returns a sealer for a 32-byte key (AES-256-GCM).
func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("console: the session key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// additionalData binds a sealed value to its cookie's name, so that a
// value sealed for one purpose is never accepted for another.
var additionalData = []byte(sessionCookie)

// seal encrypts and authenticates s into a cookie value.
func (k *sealer) seal(s *session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(k.aead.Seal(nonce, nonce, plain, additionalData)), nil
}

var errBadSession = errors.New("console: the session cookie is not valid")

// open returns the session sealed in value, or errBadSession when it was
// altered, sealed under another key, or has expired at now.
func (k *sealer) open(value string, now time.Time) (*session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return nil, errBadSession
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], additionalData)
	if err != nil {
		return nil, errBadSession
	}
	var s session
	if err := json.Unmarshal(plain, &s); err != nil || s.CSRF == "" || !now.Before(s.Expires) {
		return nil, errBadSession
	}
	return &s, nil
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// anonymousTTL bounds a session that has not signed in.
const anonymousTTL = 12 * time.Hour

// newAnonymous returns a session with a fresh CSRF token and no user.
func newAnonymous(now time.Time) *session {
	return &session{CSRF: randomToken(), Expires: now.Add(anonymousTTL)}
}

// secureRequest reports whether the browser reached us over TLS, directly
// or through a proxy that says so; the cookie is then Secure.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// writeSession sets the session cookie: HttpOnly (scripts cannot read it),
// SameSite=Lax (other sites' forms do not carry it), Secure over TLS.
func (c *Console) writeSession(w http.ResponseWriter, r *http.Request, s *session) error {
	v, err := c.sealer.seal(s)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: v, Path: c.base + "/", Expires: s.Expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureRequest(r),
	})
	return nil
}

// clearSession removes the session cookie.
func (c *Console) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: c.base + "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureRequest(r),
	})
}

// readSession returns the browser's session, or nil when it has none that
// opens (none yet, expired, or sealed under a key of an earlier start).
func (c *Console) readSession(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, err := c.sealer.open(ck.Value, c.now())
	if err != nil {
		return nil
	}
	return s
}
