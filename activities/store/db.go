// Package store is dealflow's Postgres access, and only that: SQL, row
// structs and their conversion to and from the models (workflows/deal,
// workflows/funnel, workflows/coverage), whose rules it does not repeat.
// Activities write through it; the API reads.
//
// Its files are per area: deal_* (the read model, the audit trail and its
// recording, parked changes, the inbox, templates), funnel_*, coverage_*,
// user_* (users and API tokens), outbox_* (notifications); db.go, migrate.go
// and bulk.go serve them all.
//
// Every query is a named constant. Query helpers take a sqlx.ExtContext, so
// the same code runs on the pool or inside a transaction (see InTx).
//
// It exports nothing for benchmarks: their data comes from package
// benchdata (activities/store/benchdata), through the methods and DB.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Config says where the database is and how big the pool may grow.
type Config struct {
	// URL is a lib/pq connection URL or DSN, e.g.
	// postgres://user:pass@host:5432/dealflow?sslmode=disable.
	URL string
	// MaxOpenConns caps the pool (default 10); MaxIdleConns keeps that many
	// idle connections (default 5); ConnMaxLifetime recycles connections
	// (default 30m) so a failover or pgbouncer restart is picked up.
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
}

// Pool defaults.
const (
	DefaultMaxOpenConns    = 10
	DefaultMaxIdleConns    = 5
	DefaultConnMaxLifetime = 30 * time.Minute
)

// Report history pages, funnel's and coverage's alike: DefaultReportPage
// reports unless the caller asks for fewer or more, MaxReportPage at most.
const (
	DefaultReportPage = 20
	MaxReportPage     = 200
)

// Store is the Postgres store. It is safe for concurrent use.
type Store struct {
	db *sqlx.DB
}

// Open connects to Postgres and pings it; the returned store is ready.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("store: no database URL configured")
	}
	db, err := sqlx.Open("postgres", cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("store: bad database URL: %w", err)
	}
	if cfg.MaxOpenConns <= 0 {
		cfg.MaxOpenConns = DefaultMaxOpenConns
	}
	if cfg.MaxIdleConns <= 0 {
		cfg.MaxIdleConns = DefaultMaxIdleConns
	}
	if cfg.ConnMaxLifetime <= 0 {
		cfg.ConnMaxLifetime = DefaultConnMaxLifetime
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(min(cfg.MaxIdleConns, cfg.MaxOpenConns))
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	s := &Store{db: db}
	if err := s.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// DB returns the underlying pool, for callers that compose their own queries
// (reports computed in SQL, for instance).
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping checks that the database answers a query (readiness).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: database not reachable: %w", err)
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// InTx runs fn in a transaction: committed when fn returns nil, rolled back
// when it returns an error or panics.
func (s *Store) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Errors the API maps to HTTP statuses.
var (
	// ErrNotFound: the row asked for does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a unique key is taken (409). Postgres code 23505.
	ErrDuplicate = errors.New("already exists")
	// ErrInvalidChange: RecordChange was handed a change it can never store
	// (no deal id, bad sequence numbers, data Postgres rejects). Retrying
	// does not help; the activity should fail non-retryably.
	ErrInvalidChange = errors.New("invalid change")
	// ErrUnauthenticated: a token is unknown, malformed, revoked, or belongs
	// to a disabled user (401). The wrapped message says which, for logs;
	// clients should only be told "invalid token".
	ErrUnauthenticated = errors.New("unauthenticated")
)

// InputError is a bad argument from a client: an unknown sort, a malformed
// cursor, a role that does not exist. The API answers 400 with Message.
type InputError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Postgres error codes we act on.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// mapErr turns driver errors into the package's sentinels, keeping the
// original in the chain for logs. what names the object, e.g. "user alice".
func mapErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if pe := pq.As(err, codeUniqueViolation); pe != nil {
		return fmt.Errorf("%s: %w (%s)", what, ErrDuplicate, pe.Constraint)
	}
	return err
}

// IsUnavailable reports whether err means the database cannot be reached or
// is not serving right now (connection refused, reset or closed, timeouts,
// server shutting down or starting, too many connections), so that the API
// answers 503 and callers may retry later, rather than 500.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if pe := pq.As(err); pe != nil {
		switch pe.Code {
		case "57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03", // cannot_connect_now (starting up, recovery)
			"57014", // query_canceled (statement_timeout)
			"53300", // too_many_connections
			"53000", // insufficient_resources
			"58000", // system_error
			"55P03": // lock_not_available (lock_timeout)
			return true
		}
		return pe.Code.Class() == "08" // connection exception
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true // dial/read/write on the socket failed
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// IsOutage reports whether err means Postgres cannot be reached at all —
// the connection was refused, reset, closed or timed out, the host or
// network is unreachable, the server is shutting down or starting — as
// opposed to a server that answers: a statement or lock timeout, too many
// connections, a cancelled query or any other error is not an outage. The
// API lets recently seen tokens in during an outage (and only then), so
// this is deliberately narrower than IsUnavailable.
func IsOutage(err error) bool {
	if err == nil {
		return false
	}
	if pe := pq.As(err); pe != nil {
		switch pe.Code {
		case "57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03": // cannot_connect_now (starting up, recovery)
			return true
		}
		return pe.Code.Class() == "08" // connection exception
	}
	if errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	// A socket that failed or timed out (dialling, reading or writing); a
	// context deadline alone is not one: it also ends slow statements.
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}
