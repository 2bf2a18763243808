package localstack

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// postgresUser is the system account the PostgreSQL processes run as when we
// are root. PostgreSQL refuses to run as root, and tests and CI run as root,
// so in that case initdb and postgres are started under this account (the
// Debian postgresql package creates it).
const postgresUser = "postgres"

// runAs describes the account a server process runs as. The zero value (and
// nil) means "as ourselves".
type runAs struct {
	name     string
	uid, gid uint32
}

// credential returns what SysProcAttr needs, or nil to keep our identity.
func (r *runAs) credential() *syscall.Credential {
	if r == nil {
		return nil
	}
	// Groups is empty on purpose: drop root's supplementary groups too.
	return &syscall.Credential{Uid: r.uid, Gid: r.gid, Groups: []uint32{}}
}

// postgresRunAs returns the account PostgreSQL must run as: nil when we are
// not root, the postgres system user when we are.
func postgresRunAs() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(postgresUser)
	if err != nil {
		return nil, fmt.Errorf("localstack: running as root, and PostgreSQL refuses to run as root, "+
			"but there is no %q system user to run it as (%v); install the Debian package "+
			"that creates it: apt-get install -y postgresql-15", postgresUser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("localstack: user %q has a non-numeric uid/gid %q/%q", postgresUser, u.Uid, u.Gid)
	}
	return &runAs{name: postgresUser, uid: uint32(uid), gid: uint32(gid)}, nil
}

// chownTree hands dir and everything below it to r, so that a data directory
// created (or last used) by root can be used by the postgres account.
func (r *runAs) chownTree(dir string) error {
	if r == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == r.uid && st.Gid == r.gid {
			return nil
		}
		return os.Lchown(path, int(r.uid), int(r.gid))
	})
}

// checkTraversable makes sure r can reach dir: every ancestor must be
// searchable by it. A data directory under a root-only 0700 directory (such
// as t.TempDir's parent) would otherwise fail later with a confusing
// "permission denied" from initdb.
func (r *runAs) checkTraversable(dir string) error {
	if r == nil {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("localstack: %w", err)
		}
		perm := fi.Mode().Perm()
		ok := perm&0o001 != 0
		if st, isUnix := fi.Sys().(*syscall.Stat_t); isUnix {
			ok = ok || st.Uid == r.uid && perm&0o100 != 0 || st.Gid == r.gid && perm&0o010 != 0
		}
		if !ok {
			return fmt.Errorf("localstack: PostgreSQL runs as user %q, which cannot enter %s (mode %v); "+
				"put the data directory elsewhere or run: chmod o+x %s", r.name, d, perm, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
