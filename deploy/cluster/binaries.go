package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"dealflow/deploy/localstack"
)

// Environment variables that override where the binaries are found.
const (
	EnvServer  = "TEMPORAL_SERVER"
	EnvSQLTool = "TEMPORAL_SQL_TOOL"
)

// buildHint says how to get the binaries: the Makefile builds them from the
// Go module proxy at the server version the pinned CLI embeds.
const buildHint = "run `make bin/temporal-server bin/temporal-sql-tool` in the repository root " +
	"(`make test-cluster` does it; a few minutes the first time), or set " + EnvServer + " and " + EnvSQLTool

// Binaries are the server and schema-tool executables.
type Binaries struct {
	Server  string // temporal-server
	SQLTool string // temporal-sql-tool
}

// FindBinaries returns $TEMPORAL_SERVER and $TEMPORAL_SQL_TOOL when set,
// else bin/temporal-server and bin/temporal-sql-tool of the module root.
func FindBinaries() (Binaries, error) {
	root, rootErr := localstack.ModuleRoot()
	find := func(env, name string) (string, error) {
		p := os.Getenv(env)
		if p == "" {
			if rootErr != nil {
				return "", fmt.Errorf("cluster: %s not set and %v; %s", env, rootErr, buildHint)
			}
			p = filepath.Join(root, "bin", name)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("cluster: %s not found (%v); %s", name, err, buildHint)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("cluster: %s is not an executable file; %s", p, buildHint)
		}
		return p, nil
	}
	var b Binaries
	var err error
	if b.Server, err = find(EnvServer, "temporal-server"); err != nil {
		return b, err
	}
	if b.SQLTool, err = find(EnvSQLTool, "temporal-sql-tool"); err != nil {
		return b, err
	}
	return b, nil
}

// ServerVersion asks the server binary for its version ("1.29.1").
func (b Binaries) ServerVersion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.Server, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cluster: %s --version: %w\n%s", b.Server, err, out)
	}
	// "temporal version 1.29.1"
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return "", fmt.Errorf("cluster: %s --version printed nothing", b.Server)
	}
	return f[len(f)-1], nil
}
