# dealflow: build, run, test and lint.
#
# Needs GNU make; every recipe is plain POSIX sh. Tools are built from source
# into bin/ at pinned versions (nothing is downloaded but Go modules), and
# PostgreSQL comes from the Debian package (see `deps`).

SHELL := /bin/sh
.DEFAULT_GOAL := help
# A tool build that fails or is interrupted must not leave a half-written
# binary that later runs would take as built.
.DELETE_ON_ERROR:

# ---- pinned versions: bump here, then `make clean tools` -------------------
TEMPORAL_CLI_VERSION  := v1.5.1
WORKFLOWCHECK_VERSION := v0.6.0
# staticcheck 2026.2.2; the module proxy knows it by its module version.
STATICCHECK_VERSION   := v0.8.2
# The Temporal server that the CLI above embeds (its go.mod requires it;
# `bin/temporal --version` names it): `make test-cluster` builds and runs it
# as a real cluster.
TEMPORAL_SERVER_VERSION := v1.29.1
# Debian package with initdb/postgres, installed by `deps` when missing.
PG_PACKAGE            := postgresql-15
# Debian's headless-capable browser, for the console's browser tests
# (installed by `browser` when missing).
CHROMIUM_PACKAGE      := chromium

GO           ?= go
TEST_TIMEOUT ?= 20m
GOBIN_DIR    := $(CURDIR)/bin

# The dev stack and the integration tests run this CLI's dev server
# (deploy/localstack.FindTemporalCLI reads TEMPORAL_CLI).
TEMPORAL_CLI ?= $(GOBIN_DIR)/temporal
export TEMPORAL_CLI

.PHONY: help tools deps browser build run test test-faults test-cluster fuzz lint bench clean clean-data

help:
	@echo 'make tools       build pinned tools into bin/ (temporal, workflowcheck, staticcheck)'
	@echo 'make deps        install the PostgreSQL server ($(PG_PACKAGE)) if it is missing'
	@echo 'make browser     install Chromium ($(CHROMIUM_PACKAGE)) for the console browser tests if it is missing'
	@echo 'make build       build bin/dealflow'
	@echo 'make run         run the local stack: Postgres + Temporal (state in .data/), worker and API'
	@echo 'make test        run all tests (starts throwaway Postgres/Temporal on free ports)'
	@echo 'make test-faults worker crash, Temporal restart, Postgres outage, a 1,500-action deal (minutes)'
	@echo 'make test-cluster 100 deals on a Temporal cluster on Postgres, 4 service processes; kills a worker, restarts history'
	@echo 'make fuzz        a short fuzzing run of every fuzz target (FUZZTIME=20s each)'
	@echo 'make lint        gofmt, go vet, staticcheck, workflowcheck'
	@echo 'make bench       benchmarks against a bare-Temporal baseline on a stack of its own (minutes; BENCH_FLAGS)'
	@echo 'make clean       remove bin/ (keeps .data/)'
	@echo 'make clean-data  remove .data/ (local Postgres and Temporal state)'

# ---- tools: file targets, built only when missing --------------------------
tools: bin/temporal bin/workflowcheck bin/staticcheck

bin/temporal:
	GOBIN=$(GOBIN_DIR) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

bin/workflowcheck:
	GOBIN=$(GOBIN_DIR) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

bin/staticcheck:
	GOBIN=$(GOBIN_DIR) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# The Temporal server and its SQL schema tool, for `test-cluster`. `go
# install` names them after their directories (server, sql), hence the
# staging directory.
bin/temporal-server:
	GOBIN=$(GOBIN_DIR)/.stage-server $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION)
	mv $(GOBIN_DIR)/.stage-server/server $@ && rmdir $(GOBIN_DIR)/.stage-server

bin/temporal-sql-tool:
	GOBIN=$(GOBIN_DIR)/.stage-sql-tool $(GO) install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(GOBIN_DIR)/.stage-sql-tool/sql $@ && rmdir $(GOBIN_DIR)/.stage-sql-tool

# PostgreSQL server binaries (initdb, postgres). deploy/localstack finds them
# on PATH or in /usr/lib/postgresql/*/bin; when neither has them and we are
# root on Debian (CI, a fresh machine), install the package.
deps:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "PostgreSQL server not found; installing $(PG_PACKAGE)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(PG_PACKAGE); \
	else \
		echo "PostgreSQL server not found; install it: sudo apt-get install $(PG_PACKAGE)" >&2; \
		exit 1; \
	fi

# Chromium, which the web console's browser tests (console/browser_test.go)
# drive headless. `test` needs it: as root on Debian (CI, a fresh machine)
# it is installed; elsewhere this says how, rather than letting the tests
# fail later. DEALFLOW_CHROMIUM names another Chromium or Chrome binary.
browser:
	@if [ -n "$$DEALFLOW_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Chromium not found; installing $(CHROMIUM_PACKAGE) for the console's browser tests"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(CHROMIUM_PACKAGE); \
	else \
		echo "Chromium not found; the console's browser tests need it: sudo apt-get install $(CHROMIUM_PACKAGE)" >&2; \
		echo "(or run make browser as root, or set DEALFLOW_CHROMIUM to a Chromium or Chrome binary)" >&2; \
		exit 1; \
	fi

# ---- build and run ---------------------------------------------------------
build:
	$(GO) build -o bin/dealflow ./cmd/dealflow

# `dealflow dev` starts Postgres under .data/postgres and Temporal with
# .data/temporal.db, then the worker and the API; Ctrl-C stops all of it.
run: bin/temporal deps build
	bin/dealflow dev

# ---- checks ----------------------------------------------------------------
# -p 1: every package starts its own Postgres and Temporal; one package at
# a time keeps a 2-core machine from starving them into timeouts.
test: bin/temporal deps browser
	$(GO) test -p 1 -count=1 -timeout $(TEST_TIMEOUT) ./...

# Fault injection (cmd/dealflow/faults_test.go): kill -9 the worker, restart
# Temporal, stop Postgres for 30 s. They take minutes, so `test` skips them.
# The reliability tests that take minutes: kill -9 a worker, restart
# Temporal, stop Postgres, and a 200-milestone deal through 1,500 actions.
test-faults: bin/temporal deps
	DEALFLOW_FAULT_TESTS=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v -run '^TestFaults|^TestLongDeal' ./cmd/dealflow/ ./workflows/

# A real Temporal cluster (deploy/cluster, cmd/dealflow/cluster_test.go):
# the server built above, its schemas in a local Postgres, frontend, history,
# matching and worker as separate processes; two dealflow workers and an API
# drive 100 deals while a worker is killed and history restarted.
test-cluster: bin/temporal bin/temporal-server bin/temporal-sql-tool deps
	DEALFLOW_CLUSTER_TESTS=1 $(GO) test -p 1 -count=1 -timeout $(TEST_TIMEOUT) -v -run '^TestCluster' ./deploy/cluster/ ./cmd/dealflow/

# A short fuzzing run of each fuzz target (seed corpora run in `make test`);
# FUZZTIME=10m for a longer hunt. The API target fuzzes a real stack.
# Inputs of FuzzTemplateAndPlanChange are whole plans: minimising a new one
# would take the run's whole time (60 s by default), so it is cut short.
FUZZTIME ?= 20s
fuzz: bin/temporal deps
	$(GO) test -run '^$$' -fuzz '^FuzzParseTemplate$$' -fuzztime $(FUZZTIME) ./workflows/deal
	$(GO) test -run '^$$' -fuzz '^FuzzDurationAndDue$$' -fuzztime $(FUZZTIME) ./workflows/deal
	$(GO) test -run '^$$' -fuzz '^FuzzTemplateAndPlanChange$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 100x ./workflows/deal
	$(GO) test -run '^$$' -fuzz '^FuzzRequestBodies$$' -fuzztime $(FUZZTIME) -parallel 1 ./api

# Benchmarks (cmd/dealflow/internal/bench): deals through the API against a
# bare-SDK baseline, the deal list at 100k, worker memory, the reports. Not
# part of `test`; about ten minutes. BENCH_FLAGS scales it, e.g.
# BENCH_FLAGS='-deals 1000 -concurrency 32' (see bin/dealflow help bench).
BENCH_FLAGS ?=
bench: bin/temporal deps build
	bin/dealflow bench $(BENCH_FLAGS)

# workflowcheck exits non-zero when it reports anything; its config file
# silences a known false positive (see the file).
lint: bin/staticcheck bin/workflowcheck
	@echo 'gofmt -l .'; \
	unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then \
		echo 'these files need gofmt -w:' >&2; echo "$$unformatted" >&2; exit 1; \
	fi
	$(GO) vet ./...
	bin/staticcheck ./...
	bin/workflowcheck -config workflowcheck.config.yaml ./workflows/...

# ---- cleanup ---------------------------------------------------------------
clean:
	rm -rf bin

# Separate from clean: .data/ holds the developer's local deals and workflows.
clean-data:
	rm -rf .data
