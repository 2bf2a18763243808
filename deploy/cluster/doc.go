// Package cluster runs a Temporal server cluster the way production runs
// one: the frontend, history, matching and worker services as separate
// processes, with PostgreSQL persistence and SQL visibility, built from
// source at the same server version as the pinned dev CLI (bin/temporal).
//
// It is what `make test-cluster` tests dealflow against
// (cmd/dealflow/cluster_test.go): where package localstack's dev server is
// one process on SQLite, this is the server code with the topology, the
// schema tool and the persistence of a real deployment, on one machine and
// without Docker. Like localstack it needs only the PostgreSQL server
// binaries and binaries that the Makefile builds into bin/:
//
//	bin/temporal-server    go.temporal.io/server/cmd/server
//	bin/temporal-sql-tool  go.temporal.io/server/cmd/tools/sql
//
// Every process is tied to its parent (its own process group, a signal from
// the kernel if the parent dies), so a test leaves nothing running.
package cluster
