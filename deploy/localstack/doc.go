// Package localstack runs the servers dealflow depends on, PostgreSQL and
// the Temporal dev server, as child processes of the program that needs them.
//
// The same code serves `make run` (`dealflow dev`, with state kept in .data/)
// and the integration tests (throwaway servers on free ports, see package
// testenv), so what developers run by hand and what CI tests are one and the
// same setup. It needs no Docker and no system services: only the PostgreSQL
// server binaries from the Debian package (`make deps`) and the temporal CLI
// built into bin/ (`make tools`).
//
// Servers are tied to their parent: they run in their own process group (a
// terminal's Ctrl-C reaches the parent, which stops them in order) and get a
// signal from the kernel if the parent dies, so nothing is left running.
package localstack
