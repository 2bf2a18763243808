package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"dealflow/activities/notify"
	"dealflow/workflows"
)

// Config is every setting of every subcommand. Each subcommand binds the
// settings it reads to its flag set (see bind); the rest keep their zero
// values.
type Config struct {
	LogLevel  slog.Level
	LogFormat string // "text" or "json"

	DatabaseURL     string
	TemporalAddress string
	Namespace       string
	TaskQueue       string
	TemporalUIURL   string
	Listen          string // the API's address
	WorkerListen    string // the worker's /metrics and /healthz; "" disables
	NotifyChannels  string
	notify          notify.Config // NotifyChannels parsed
	LinkBase        string
	ShutdownTimeout time.Duration
	DrainDelay      time.Duration // the API's /readyz answers 503 this long before it stops accepting
	SessionKey      []byte        // seals the web console's cookies; nil: random per start

	// dev only
	DataDir        string
	PostgresPort   int
	TemporalPort   int
	TemporalUIPort int
	TemporalCLI    string

	// explicit holds the environment variable names of the settings that a
	// flag or the environment set (rather than the default), for dev, which
	// starts local servers only for what is not configured.
	explicit map[string]bool
}

// IsSet reports whether the setting behind environment variable env came
// from a flag or the environment rather than its default.
func (c *Config) IsSet(env string) bool { return c.explicit[env] }

// setting is one configuration value: its flag, its environment variable,
// its default and how to store it in Config.
type setting struct {
	flag  string
	env   string
	def   string // shown in help; "" means none
	arg   string // the flag's argument name in help
	usage string
	// scope says which subcommands read it, for the help table.
	scope string
	// allowEmpty: an empty value (VAR= or -flag "") is a value, not "unset".
	allowEmpty bool
	// secret: the value may hold a password or a robot's key, so errors
	// do not repeat it.
	secret bool
	set    func(c *Config, v string) error
}

// settings is the single list of configuration values. Keep the table in
// docs/operations.md in step with it (`dealflow help` prints it).
var settings = []setting{
	{
		flag: "log-level", env: "DEALFLOW_LOG_LEVEL", def: "info", arg: "LEVEL", scope: "all",
		usage: "log level: debug, info, warn or error",
		set: func(c *Config, v string) error {
			return c.LogLevel.UnmarshalText([]byte(v))
		},
	},
	{
		flag: "log-format", env: "DEALFLOW_LOG_FORMAT", def: "text", arg: "FORMAT", scope: "all",
		usage: "log format on stderr: text or json",
		set: func(c *Config, v string) error {
			v = strings.ToLower(v)
			if v != "text" && v != "json" {
				return fmt.Errorf("%q is neither text nor json", v)
			}
			c.LogFormat = v
			return nil
		},
	},
	{
		flag: "database-url", env: "DATABASE_URL", arg: "URL", scope: "worker, api, migrate, users, recordings, dev", secret: true,
		usage: "Postgres URL, e.g. postgres://user:pass@host:5432/dealflow?sslmode=disable " +
			"(required; dev starts a local Postgres when unset)",
		set: func(c *Config, v string) error {
			if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") && !strings.Contains(v, "=") {
				return errors.New("want a postgres:// URL or a key=value connection string")
			}
			c.DatabaseURL = v
			return nil
		},
	},
	{
		flag: "temporal-address", env: "TEMPORAL_ADDRESS", def: "127.0.0.1:7233", arg: "HOST:PORT",
		scope: "worker, api, dev, register-search-attributes, recordings recover",
		usage: "Temporal frontend (dev starts a local dev server when unset)",
		set:   setHostPort(func(c *Config) *string { return &c.TemporalAddress }),
	},
	{
		flag: "namespace", env: "TEMPORAL_NAMESPACE", def: "default", arg: "NAME",
		scope: "worker, api, dev, register-search-attributes, recordings recover",
		usage: "Temporal namespace",
		set:   setString(func(c *Config) *string { return &c.Namespace }),
	},
	{
		flag: "task-queue", env: "DEALFLOW_TASK_QUEUE", def: workflows.DefaultTaskQueue, arg: "NAME",
		scope: "worker, api, dev",
		usage: "Temporal task queue of the deal workflows",
		set:   setString(func(c *Config) *string { return &c.TaskQueue }),
	},
	{
		flag: "listen", env: "DEALFLOW_LISTEN", def: "127.0.0.1:8080", arg: "HOST:PORT", scope: "api, dev",
		usage: "address the HTTP API listens on",
		set:   setHostPort(func(c *Config) *string { return &c.Listen }),
	},
	{
		flag: "temporal-ui-url", env: "TEMPORAL_UI_URL", def: "http://127.0.0.1:8233", arg: "URL", scope: "api, dev",
		usage: "Temporal UI base URL, for links to deals",
		set: func(c *Config, v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("want an http:// or https:// URL")
			}
			c.TemporalUIURL = strings.TrimRight(v, "/")
			return nil
		},
	},
	{
		flag: "worker-listen", env: "DEALFLOW_WORKER_LISTEN", def: "127.0.0.1:9090", arg: "HOST:PORT", scope: "worker",
		usage:      "address of the worker's /metrics and /healthz; empty disables",
		allowEmpty: true,
		set: func(c *Config, v string) error {
			if v == "" {
				c.WorkerListen = ""
				return nil
			}
			return setHostPort(func(c *Config) *string { return &c.WorkerListen })(c, v)
		},
	},
	{
		flag: "notify", env: notify.EnvChannels, def: notify.DefaultChannels, arg: "LIST", scope: "worker, dev", secret: true,
		usage: "notification channels, comma-separated: log, webhook=URL, wecom=URL, feishu=URL, slack=URL",
		set:   setNotifyChannels,
	},
	{
		flag: "link-base", env: "DEALFLOW_LINK_BASE", arg: "URL", scope: "worker, dev",
		usage: "base URL that notifications link deals under (URL/deals/ID); none: no links (dev: the API's /v1)",
		set: func(c *Config, v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("want an http:// or https:// URL")
			}
			c.LinkBase = strings.TrimRight(v, "/")
			return nil
		},
	},
	{
		flag: "shutdown-timeout", env: "DEALFLOW_SHUTDOWN_TIMEOUT", def: "30s", arg: "DURATION", scope: "worker, api, dev",
		usage: "how long a graceful stop may take (in-flight activities, open requests)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return errors.New("want a positive duration such as 30s")
			}
			c.ShutdownTimeout = d
			return nil
		},
	},
	{
		flag: "drain-delay", env: "DEALFLOW_DRAIN_DELAY", def: "0s", arg: "DURATION", scope: "api",
		usage: "on SIGTERM, keep serving this long with /readyz answering 503 before refusing new connections, " +
			"so that a load balancer stops sending requests first (then -shutdown-timeout applies)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return errors.New("want a duration such as 5s, or 0s for none")
			}
			c.DrainDelay = d
			return nil
		},
	},
	{
		flag: "session-key", env: "DEALFLOW_SESSION_KEY", arg: "HEX", scope: "api, dev", secret: true,
		usage: "the web console's session key: 64 hex digits (32 bytes, e.g. from openssl rand -hex 32); " +
			"give every API server the same one so that a sign-in works on each and survives restarts " +
			"(unset: a random key at each start)",
		set: func(c *Config, v string) error {
			k, err := hex.DecodeString(strings.TrimSpace(v))
			if err != nil || len(k) != 32 {
				return errors.New("want 64 hex digits (32 bytes), e.g. from openssl rand -hex 32")
			}
			c.SessionKey = k
			return nil
		},
	},
	{
		flag: "data-dir", env: "DEALFLOW_DATA_DIR", def: ".data", arg: "DIR", scope: "dev",
		usage: "where dev keeps Postgres (postgres/), Temporal (temporal.db) and logs",
		set:   setString(func(c *Config) *string { return &c.DataDir }),
	},
	{
		flag: "postgres-port", env: "DEALFLOW_POSTGRES_PORT", def: "54329", arg: "PORT", scope: "dev",
		usage: "port of the local Postgres (on 127.0.0.1)",
		set:   setPort(func(c *Config) *int { return &c.PostgresPort }),
	},
	{
		flag: "temporal-port", env: "TEMPORAL_PORT", def: "7233", arg: "PORT", scope: "dev",
		usage: "gRPC port of the local Temporal dev server",
		set:   setPort(func(c *Config) *int { return &c.TemporalPort }),
	},
	{
		flag: "temporal-ui-port", env: "TEMPORAL_UI_PORT", def: "8233", arg: "PORT", scope: "dev",
		usage: "web UI port of the local Temporal dev server",
		set:   setPort(func(c *Config) *int { return &c.TemporalUIPort }),
	},
	{
		flag: "temporal-cli", env: "TEMPORAL_CLI", arg: "PATH", scope: "dev",
		usage: "temporal CLI that runs the dev server (default: next to this binary, bin/temporal, PATH)",
		set:   setString(func(c *Config) *string { return &c.TemporalCLI }),
	},
}

func setString(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

func setHostPort(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			return errors.New("want HOST:PORT, e.g. 127.0.0.1:8080")
		}
		if _, err := parsePort(port); err != nil {
			return err
		}
		*field(c) = v
		return nil
	}
}

func setPort(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		p, err := parsePort(v)
		if err != nil {
			return err
		}
		*field(c) = p
		return nil
	}
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return p, nil
}

func findSetting(flagName string) *setting {
	for i := range settings {
		if settings[i].flag == flagName {
			return &settings[i]
		}
	}
	return nil
}

// binding is a subcommand's flag set together with the settings bound to
// it.
type binding struct {
	fs    *flag.FlagSet
	names []string
	vals  map[string]*string
}

// newFlagSet returns a flag set for subcommand name, with the settings named
// bound to flags, whose help lists each one's environment variable and
// default. synopsis follows "dealflow name" in the usage line; about says
// what the subcommand does.
func newFlagSet(name, synopsis, about string, stderr io.Writer, settingNames ...string) *binding {
	fs := flag.NewFlagSet("dealflow "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	b := &binding{fs: fs, names: settingNames, vals: map[string]*string{}}
	for _, n := range settingNames {
		s := findSetting(n)
		if s == nil {
			panic("dealflow: no setting named " + n)
		}
		b.vals[n] = fs.String(s.flag, "", s.usage)
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: dealflow %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.VisitAll(func(f *flag.Flag) {
			s := findSetting(f.Name)
			if s == nil || b.vals[f.Name] == nil {
				arg, usage := flag.UnquoteUsage(f)
				fmt.Fprintf(w, "  -%s %s\n    \t%s", f.Name, arg, usage)
				if f.DefValue != "" && f.DefValue != "false" {
					fmt.Fprintf(w, " (default %s)", f.DefValue)
				}
				fmt.Fprintln(w)
				return
			}
			fmt.Fprintf(w, "  -%s %s\n    \t%s\n    \t$%s", s.flag, s.arg, s.usage, s.env)
			if s.def != "" {
				fmt.Fprintf(w, ", default %s", s.def)
			}
			fmt.Fprintln(w)
		})
	}
	return b
}

// parse parses args and then resolves every bound setting: the flag if it
// was given, else the environment variable if set, else the default. Errors
// are *usageError.
func (b *binding) parse(args []string, env lookupEnvFunc) (*Config, error) {
	if err := b.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		// The flag package has printed the error and the usage.
		return nil, usageErrorf("%v", err)
	}
	given := map[string]bool{}
	b.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	c := &Config{explicit: map[string]bool{}}
	// Defaults of settings not bound here still apply, so that code
	// shared between subcommands sees sane values.
	for _, s := range settings {
		if s.def != "" {
			if err := s.set(c, s.def); err != nil {
				panic(fmt.Sprintf("dealflow: default of %s: %v", s.env, err))
			}
		}
	}
	var errs []error
	for _, n := range b.names {
		s := findSetting(n)
		var v, source string
		switch ev, ok := env(s.env); {
		case given[n]:
			v, source = *b.vals[n], "-"+s.flag
		case ok && (ev != "" || s.allowEmpty):
			v, source = ev, s.env
		default:
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" && !s.allowEmpty {
			errs = append(errs, fmt.Errorf("%s is empty", source))
			continue
		}
		if err := s.set(c, v); err != nil {
			if s.secret {
				// The error names the part that is wrong; the value may
				// hold a password.
				errs = append(errs, fmt.Errorf("%s: %w", source, err))
			} else {
				errs = append(errs, fmt.Errorf("%s=%q: %w", source, v, err))
			}
			continue
		}
		c.explicit[s.env] = true
	}
	if len(errs) > 0 {
		return nil, &usageError{msg: "bad configuration: " + errors.Join(errs...).Error()}
	}
	return c, nil
}

// requireDatabaseURL is the check every subcommand but dev makes.
func (c *Config) requireDatabaseURL() error {
	if c.DatabaseURL == "" {
		return usageErrorf("DATABASE_URL is not set (nor -database-url): give the Postgres URL, " +
			"e.g. postgres://user:pass@host:5432/dealflow?sslmode=disable; `dealflow dev` starts a local Postgres instead")
	}
	return nil
}

// printSettingsTable writes every setting, for `dealflow help`.
func printSettingsTable(w io.Writer) {
	fmt.Fprint(w, "Environment (flag), default, used by:\n")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(w, "  %-26s -%s\n      %s\n      default %s; %s\n", s.env, s.flag, s.usage, def, scopeText(s.scope))
	}
}

func scopeText(scope string) string {
	if scope == "all" {
		return "every subcommand"
	}
	parts := strings.Split(scope, ", ")
	if slices.Equal(parts, []string{"dev"}) {
		return "dev only"
	}
	return scope
}
