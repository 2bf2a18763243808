package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"dealflow/activities/notify"
)

// envMap is a fake environment.
type envMap map[string]string

func (e envMap) lookup(k string) (string, bool) {
	v, ok := e[k]
	return v, ok
}

func parseWorker(t *testing.T, args []string, env envMap) (*Config, error) {
	t.Helper()
	b := newFlagSet("worker", "", "", io.Discard, "database-url", "temporal-address", "namespace",
		"task-queue", "notify", "worker-listen", "shutdown-timeout", "log-level", "log-format")
	return b.parse(args, env.lookup)
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := parseWorker(t, nil, envMap{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		LogLevel: slog.LevelInfo, LogFormat: "text",
		TemporalAddress: "127.0.0.1:7233", Namespace: "default", TaskQueue: "dealflow",
		Listen: "127.0.0.1:8080", WorkerListen: "127.0.0.1:9090", TemporalUIURL: "http://127.0.0.1:8233",
		NotifyChannels: "log", ShutdownTimeout: 30 * time.Second,
		DataDir: ".data", PostgresPort: 54329, TemporalPort: 7233, TemporalUIPort: 8233,
	}
	got := *c
	got.explicit, got.notify = nil, notify.Config{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if c.DatabaseURL != "" || c.IsSet("DATABASE_URL") {
		t.Errorf("DATABASE_URL must have no default, got %q", c.DatabaseURL)
	}
	if c.notify.String() != "log" {
		t.Errorf("notify channels = %q, want log", c.notify.String())
	}
	if err := c.requireDatabaseURL(); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("requireDatabaseURL() = %v", err)
	}
}

func TestConfigFlagBeatsEnvBeatsDefault(t *testing.T) {
	t.Parallel()
	env := envMap{
		"DATABASE_URL":        "postgres://env@db/dealflow",
		"TEMPORAL_ADDRESS":    "temporal.env:7233",
		"TEMPORAL_NAMESPACE":  "from-env",
		"DEALFLOW_LOG_LEVEL":  "debug",
		"DEALFLOW_LOG_FORMAT": "JSON",
		"NOTIFY_CHANNELS":     "log,slack=https://hooks.slack.example/x",
	}
	c, err := parseWorker(t, []string{"-namespace", "from-flag", "--log-level=warn"}, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"database", c.DatabaseURL, "postgres://env@db/dealflow"},
		{"temporal", c.TemporalAddress, "temporal.env:7233"},
		{"namespace", c.Namespace, "from-flag"},
		{"log level", c.LogLevel.String(), "WARN"},
		{"log format", c.LogFormat, "json"},
		{"task queue", c.TaskQueue, "dealflow"},
		{"notify", c.notify.String(), "log,slack=https://hooks.slack.example/…"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	for _, v := range []string{"DATABASE_URL", "TEMPORAL_NAMESPACE", "DEALFLOW_LOG_LEVEL"} {
		if !c.IsSet(v) {
			t.Errorf("IsSet(%s) = false", v)
		}
	}
	if c.IsSet("DEALFLOW_TASK_QUEUE") {
		t.Error("IsSet(DEALFLOW_TASK_QUEUE) = true for a default")
	}
}

func TestConfigEmptyValues(t *testing.T) {
	t.Parallel()
	// An empty variable counts as unset...
	c, err := parseWorker(t, nil, envMap{"TEMPORAL_ADDRESS": "", "DATABASE_URL": ""})
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAddress != "127.0.0.1:7233" || c.IsSet("TEMPORAL_ADDRESS") || c.IsSet("DATABASE_URL") {
		t.Errorf("empty env: address %q, set %v", c.TemporalAddress, c.explicit)
	}
	// ...except where empty means something: no worker metrics server.
	c, err = parseWorker(t, nil, envMap{"DEALFLOW_WORKER_LISTEN": ""})
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkerListen != "" {
		t.Errorf("DEALFLOW_WORKER_LISTEN= gave %q, want disabled", c.WorkerListen)
	}
	c, err = parseWorker(t, []string{"-worker-listen="}, envMap{"DEALFLOW_WORKER_LISTEN": "127.0.0.1:1"})
	if err != nil || c.WorkerListen != "" {
		t.Errorf("-worker-listen= gave %q, %v", c.WorkerListen, err)
	}
	// An explicitly empty flag for a required value is a mistake.
	if _, err := parseWorker(t, []string{"-namespace", ""}, envMap{}); err == nil {
		t.Error("-namespace \"\" accepted")
	}
}

func TestConfigBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		env  envMap
		want string // in the message
	}{
		{"log level", nil, envMap{"DEALFLOW_LOG_LEVEL": "loud"}, "DEALFLOW_LOG_LEVEL"},
		{"log format", []string{"-log-format", "xml"}, nil, "-log-format"},
		{"address without port", nil, envMap{"TEMPORAL_ADDRESS": "temporal"}, "TEMPORAL_ADDRESS"},
		{"port out of range", nil, envMap{"TEMPORAL_ADDRESS": "h:70000"}, "70000"},
		{"duration", nil, envMap{"DEALFLOW_SHUTDOWN_TIMEOUT": "-3s"}, "DEALFLOW_SHUTDOWN_TIMEOUT"},
		{"duration word", []string{"-shutdown-timeout", "soon"}, nil, "-shutdown-timeout"},
		{"database url", nil, envMap{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{"notify channel", nil, envMap{"NOTIFY_CHANNELS": "log,sms=https://x"}, "sms"},
		{"notify without url", nil, envMap{"NOTIFY_CHANNELS": "wecom"}, "wecom"},
		{"notify nothing", []string{"-notify", ","}, nil, "no channels"},
		{"unknown flag", []string{"-nope"}, nil, "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseWorker(t, tc.args, tc.env)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %q", err, tc.want)
			}
			if code := exitCode(err, io.Discard); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
		})
	}
	// Every mistake is reported at once.
	_, err := parseWorker(t, nil, envMap{"DEALFLOW_LOG_LEVEL": "loud", "TEMPORAL_ADDRESS": "x"})
	if err == nil || !strings.Contains(err.Error(), "DEALFLOW_LOG_LEVEL") || !strings.Contains(err.Error(), "TEMPORAL_ADDRESS") {
		t.Errorf("two bad values: %v", err)
	}
}

func TestDevPortSettings(t *testing.T) {
	t.Parallel()
	b := newFlagSet("dev", "", "", io.Discard, "data-dir", "postgres-port", "temporal-port", "temporal-ui-port")
	c, err := b.parse([]string{"-temporal-ui-port", "9001"}, envMap{"DEALFLOW_POSTGRES_PORT": "6000", "TEMPORAL_UI_PORT": "9000"}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.PostgresPort != 6000 || c.TemporalPort != 7233 || c.TemporalUIPort != 9001 {
		t.Errorf("ports: pg %d temporal %d ui %d", c.PostgresPort, c.TemporalPort, c.TemporalUIPort)
	}
	if _, err := b.parse([]string{"-postgres-port", "0"}, envMap{}.lookup); err == nil {
		t.Error("port 0 accepted")
	}
}

func TestRunUsageAndExitCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		args []string
		env  envMap
		code int
		out  string // in stdout
		err  string // in stderr (usage) or the error
	}{
		{args: nil, code: 2, err: "no subcommand"},
		{args: []string{"frobnicate"}, code: 2, err: `unknown subcommand "frobnicate"`},
		{args: []string{"help"}, code: 0, out: "DEALFLOW_POSTGRES_PORT"},
		{args: []string{"worker", "-h"}, code: 0, err: "$NOTIFY_CHANNELS, default log"},
		{args: []string{"help", "api"}, code: 0, out: "$DEALFLOW_LISTEN, default 127.0.0.1:8080"},
		{args: []string{"worker"}, code: 2, err: "DATABASE_URL is not set"},
		{args: []string{"api"}, env: envMap{"DATABASE_URL": "postgres://x/y", "DEALFLOW_LISTEN": "nope"}, code: 2, err: "DEALFLOW_LISTEN"},
		{args: []string{"migrate", "extra"}, env: envMap{"DATABASE_URL": "postgres://x/y"}, code: 2, err: "no arguments"},
		{args: []string{"users"}, code: 2, err: "create, token, list, disable, enable, roles, tokens or revoke"},
		{args: []string{"users", "create", "-name", "Pat"}, env: envMap{"DATABASE_URL": "postgres://x/y"}, code: 2, err: "users create: -id is required"},
		{args: []string{"users", "create", "-id", "pat", "-name", "Pat", "-roles", "pmo,boss"}, env: envMap{"DATABASE_URL": "postgres://x/y"}, code: 2, err: `unknown role "boss"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := tc.env
			if env == nil {
				env = envMap{}
			}
			err := run(ctx, tc.args, env.lookup, &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (err %v)", code, tc.code, err)
			}
			if tc.out != "" && !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout lacks %q:\n%s", tc.out, stdout.String())
			}
			if tc.err != "" && !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("stderr lacks %q:\n%s", tc.err, stderr.String())
			}
		})
	}
}

// The help table names every setting, so docs/operations.md can be
// checked against it.
func TestHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	printUsage(&out)
	for _, s := range settings {
		if !strings.Contains(out.String(), s.env) || !strings.Contains(out.String(), "-"+s.flag) {
			t.Errorf("help lacks %s / -%s", s.env, s.flag)
		}
	}
	if errors.Is(run(context.Background(), []string{"dev", "-h"}, envMap{}.lookup, io.Discard, io.Discard), flag.ErrHelp) == false {
		t.Error("dev -h should return flag.ErrHelp")
	}
}

// Values that may hold a password or a robot's key are not repeated in
// errors.
func TestConfigErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	_, err := parseWorker(t, nil, envMap{
		"DATABASE_URL":    "mysql://u:hunter2@db/x",
		"NOTIFY_CHANNELS": "wecom=https://qyapi.example/send?key=SECRETKEY,sms",
	})
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, secret := range []string{"hunter2", "SECRETKEY"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q: %v", secret, err)
		}
	}
}
