package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process (postgres, temporal) whose lifetime is tied to
// ours.
//
// Both `make run` and `go test` must never leave a database or dev server
// behind, even when they are killed. Three things make that hold:
//   - the child gets its own process group, so a terminal's Ctrl-C reaches
//     only us and we can shut the stack down in order (API, worker, then the
//     servers) instead of everything dying at once;
//   - the kernel sends the child pdeathSig when we die for any reason
//     (SIGKILL, panic, `go test -timeout`), so an orphan stops by itself;
//   - stop() escalates to SIGKILL of the whole group when a graceful stop
//     takes too long, which also reaps postgres backends.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done is closed

	stopOnce sync.Once
	stopErr  error
}

type childSpec struct {
	name      string   // for messages: "postgres", "temporal"
	path      string   // executable
	args      []string // without argv[0]
	dir       string   // working directory
	cred      *syscall.Credential
	pdeathSig syscall.Signal
	stdout    io.Writer // also used for stderr
	// closeOnExit is closed once the process has exited and its output
	// has been copied (a log file behind stdout).
	closeOnExit []io.Closer
}

func startChild(s childSpec) (*child, error) {
	cmd := exec.Command(s.path, s.args...)
	cmd.Dir = s.dir
	cmd.Stdin = nil
	cmd.Stdout = s.stdout
	cmd.Stderr = s.stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  s.pdeathSig,
		Credential: s.cred,
	}
	// A grandchild (a postgres backend) holding our pipe open must not make
	// Wait hang forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		for _, cl := range s.closeOnExit {
			_ = cl.Close()
		}
		return nil, fmt.Errorf("localstack: starting %s: %w", s.name, err)
	}
	c := &child{name: s.name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		for _, cl := range s.closeOnExit {
			_ = cl.Close()
		}
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process is gone.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits for the process to exit. When ctx ends first it
// kills the whole process group. Calling stop more than once is fine.
func (c *child) stop(ctx context.Context, sig syscall.Signal) error {
	c.stopOnce.Do(func() { c.stopErr = c.doStop(ctx, sig) })
	return c.stopErr
}

func (c *child) doStop(ctx context.Context, sig syscall.Signal) error {
	if c.exited() {
		return nil
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
		return c.exitErr(sig)
	case <-ctx.Done():
	}
	// Graceful stop took too long: take down the group (backends included).
	_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("localstack: %s (pid %d) did not exit after SIGKILL", c.name, c.pid())
	}
	return fmt.Errorf("localstack: %s did not stop in time and was killed: %w", c.name, ctx.Err())
}

// exitErr hides the "signal: interrupt"-style error that a process stopped by
// our own signal reports.
func (c *child) exitErr(sig syscall.Signal) error {
	if c.err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(c.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == sig {
			return nil
		}
	}
	return fmt.Errorf("localstack: %s exited: %w", c.name, c.err)
}

// tailBuffer keeps the last max bytes written to it, so that a server that
// fails to start can be explained by the end of its own output.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// fileTail returns the last n bytes of a file, for error messages.
func fileTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// indent prefixes each line of s so that server output stands out inside an
// error message.
func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
