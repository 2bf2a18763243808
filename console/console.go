// Package console is dealflow's web console: server-rendered pages for
// PMOs and approvers on the API's own server (under /console/). It is a
// client of the JSON API in process: every page and every form calls the
// API's handler with the signed-in user's token, so the console has the
// API's authorization and rules and no business logic of its own. Pages
// work without JavaScript: plain forms, POST then redirect.
package console

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Config holds the console's settings.
type Config struct {
	// SessionKey seals the session cookies (32 bytes; DEALFLOW_SESSION_KEY).
	// When nil a random key is made at start, so sessions end when the
	// server restarts, and servers behind one load balancer do not share
	// sessions.
	SessionKey []byte
	// SessionTTL is how long a sign-in lasts; 0 means 12 hours.
	SessionTTL time.Duration
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console serves the web console. Mount it on the API's server with
// api.Deps{Console: c}.
type Console struct {
	cfg    Config
	base   string
	sealer *sealer
	api    http.Handler
	pages  *pages
	log    *slog.Logger
}

// Base is the path the console is served under.
const Base = "/console"

// New returns a console ready to be mounted.
func New(cfg Config) (*Console, error) {
	key := cfg.SessionKey
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails (Go ≥ 1.24)
	}
	sl, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, base: Base, sealer: sl, pages: p, log: cfg.Logger}, nil
}

func (c *Console) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}

// Mount registers the console's routes on e; api is the JSON API the
// console calls for everything it shows and does.
func (c *Console) Mount(e *echo.Echo, api http.Handler) {
	c.api = api
	home := func(ec echo.Context) error { return ec.Redirect(http.StatusSeeOther, c.base+"/") }
	e.GET("/", home)
	e.GET(c.base, home)

	g := e.Group(c.base, c.noStore, c.checkCSRF)
	g.GET("/static/*", c.static)
	g.GET("/", c.home)
	g.GET("/login", c.loginForm)
	g.POST("/login", c.login)
	g.POST("/logout", c.logout)

	g.GET("/inbox", c.signedIn(c.inbox))
	g.GET("/deals", c.signedIn(c.listDeals))
	g.GET("/deals/new", c.signedIn(c.newDealForm))
	g.POST("/deals", c.signedIn(c.startDeal))
	g.GET("/deals/:id", c.signedIn(c.dealPage))
	g.POST("/deals/:id/milestones/:key/submit", c.signedIn(c.submit))
	g.POST("/deals/:id/milestones/:key/review", c.signedIn(c.review))
	g.POST("/deals/:id/plan", c.signedIn(c.changePlan))
	g.POST("/deals/:id/buyer-stage", c.signedIn(c.buyerStage))
	g.POST("/deals/:id/pause", c.signedIn(c.pause))
	g.POST("/deals/:id/resume", c.signedIn(c.resume))
	g.POST("/deals/:id/close", c.signedIn(c.closeDeal))
	g.GET("/reports", c.signedIn(c.reports))
	g.GET("/reports/funnel/:id", c.signedIn(c.funnelReport))
	g.GET("/reports/coverage/:id", c.signedIn(c.coverageReport))

	// Anything else under the console is an HTML page, not the API's JSON.
	g.Any("/*", func(ec echo.Context) error {
		return c.renderError(ec, c.readSession(ec.Request()), http.StatusNotFound, "There is no such page in the console.")
	})
}

// noStore keeps pages with deal data out of shared caches and the
// browser's back-forward cache after sign-out.
func (c *Console) noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		h := ec.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; form-action 'self'; frame-ancestors 'none'")
		return next(ec)
	}
}

// signedIn runs h with the browser's session, or sends the browser to sign
// in first (and back here afterwards).
func (c *Console) signedIn(h func(echo.Context, *session) error) echo.HandlerFunc {
	return func(ec echo.Context) error {
		s := c.readSession(ec.Request())
		if !s.signedIn() {
			if ec.Request().Method != http.MethodGet {
				return c.renderError(ec, s, http.StatusUnauthorized, "You are signed out. Sign in and try again.")
			}
			return ec.Redirect(http.StatusSeeOther, c.base+"/login?next="+queryEscape(ec.Request().URL.RequestURI()))
		}
		return h(ec, s)
	}
}

func (c *Console) home(ec echo.Context) error {
	if c.readSession(ec.Request()).signedIn() {
		return ec.Redirect(http.StatusSeeOther, c.base+"/inbox")
	}
	return ec.Redirect(http.StatusSeeOther, c.base+"/login")
}
