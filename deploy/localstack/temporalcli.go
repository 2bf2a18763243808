package localstack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// temporalCLIHint says how to get the CLI: it is built from source into
// bin/ by `make tools` (pinned version) rather than downloaded, because the
// SDK's own downloader needs network access we do not have.
const temporalCLIHint = "run `make tools` in the repository root to build bin/temporal, " +
	"or set TEMPORAL_CLI to the path of a temporal CLI binary"

// FindTemporalCLI returns the temporal CLI to run: $TEMPORAL_CLI if set, else
// <module root>/bin/temporal (the pinned build from `make tools`, found by
// walking up from the working directory to go.mod, which also works from a
// package directory under `go test`), else `temporal` on PATH.
func FindTemporalCLI() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("localstack: TEMPORAL_CLI=%s: %w; %s", p, err, temporalCLIHint)
		}
		return p, nil
	}
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, "bin", "temporal")
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("localstack: temporal CLI not found ($TEMPORAL_CLI, bin/temporal, PATH); " + temporalCLIHint)
}

// ModuleRoot returns the nearest directory at or above the working directory
// that holds a go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("localstack: no go.mod above the working directory")
		}
		dir = parent
	}
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}
