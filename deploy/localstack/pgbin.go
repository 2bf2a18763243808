package localstack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// pgInstallHint is appended to every "PostgreSQL is missing" error: tests do
// not skip when the server is absent (CI would go green without testing
// anything), so the failure has to say how to fix it.
const pgInstallHint = "install the PostgreSQL 15 server: apt-get install -y postgresql-15 " +
	"(Debian package postgresql-15, or postgresql), or set PostgresOptions.BinDir; " +
	"`make deps` does this on Debian"

// pgBinaries holds the programs we run from one PostgreSQL installation.
type pgBinaries struct {
	dir     string // directory holding initdb, postgres
	major   int    // major version, e.g. 15
	initdb  string
	postgre string // the postgres server binary
}

var pgVersionRE = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)`)

// findPostgres locates a PostgreSQL server installation.
//
// Debian does not put initdb/postgres on PATH (only client wrappers), so after
// PATH we look in /usr/lib/postgresql/<version>/bin. When the data directory
// already exists we prefer the installation of the same major version, since
// PostgreSQL cannot open another major version's data files; otherwise the
// newest one wins.
func findPostgres(binDir string, wantMajor int) (*pgBinaries, error) {
	var dirs []string
	if binDir != "" {
		dirs = []string{binDir}
	} else {
		if p, err := exec.LookPath("initdb"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			dirs = append(dirs, filepath.Dir(p))
		}
		dirs = append(dirs, debianPostgresDirs()...)
	}

	var found []*pgBinaries
	var errs []error
	for _, d := range dirs {
		b, err := probePostgresDir(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if wantMajor == 0 || b.major == wantMajor {
			return b, nil
		}
		found = append(found, b)
	}
	if len(found) > 0 {
		return nil, fmt.Errorf("localstack: the data directory was made by PostgreSQL %d but only "+
			"PostgreSQL %d is installed (%s); install postgresql-%d or delete the data directory",
			wantMajor, found[0].major, found[0].dir, wantMajor)
	}
	msg := "localstack: PostgreSQL server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin"
	if binDir != "" {
		msg = "localstack: PostgreSQL server binaries not usable in " + binDir
	}
	if len(errs) > 0 {
		msg += " (" + errors.Join(errs...).Error() + ")"
	}
	return nil, errors.New(msg + "; " + pgInstallHint)
}

// debianPostgresDirs lists /usr/lib/postgresql/*/bin, newest version first.
func debianPostgresDirs() []string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(p string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(p)), 64)
		return v
	}
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	return matches
}

func probePostgresDir(dir string) (*pgBinaries, error) {
	b := &pgBinaries{
		dir:     dir,
		initdb:  filepath.Join(dir, "initdb"),
		postgre: filepath.Join(dir, "postgres"),
	}
	for _, p := range []string{b.initdb, b.postgre} {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("%s is not executable", p)
		}
	}
	out, err := exec.Command(b.postgre, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", b.postgre, err)
	}
	m := pgVersionRE.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("%s --version printed %q", b.postgre, strings.TrimSpace(string(out)))
	}
	b.major, _ = strconv.Atoi(string(m[1]))
	return b, nil
}

// dataDirMajor returns the major version recorded in a data directory, or 0
// when there is none yet.
func dataDirMajor(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return 0
	}
	v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return v
}
