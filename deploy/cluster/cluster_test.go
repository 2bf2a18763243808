package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"dealflow/deploy/cluster"
	"dealflow/deploy/localstack"
)

// EnvClusterTests enables the tests that build on a running cluster: `make
// test-cluster` sets it.
const EnvClusterTests = "DEALFLOW_CLUSTER_TESTS"

func TestRenderConfig(t *testing.T) {
	cfg := cluster.Config{
		PostgresHost: "127.0.0.1", PostgresPort: 5432, PostgresUser: "postgres",
		PersistenceDB: "temporal", VisibilityDB: "temporal_visibility",
		MaxConns: 10, NumHistoryShards: 4, LogLevel: "info",
		Ports: map[string]cluster.Ports{},
	}
	if _, err := cfg.Render(); err == nil || !strings.Contains(err.Error(), "no ports") {
		t.Fatalf("rendering without ports: %v, want an error naming the missing ports", err)
	}
	for i, s := range cluster.Services {
		cfg.Ports[s] = cluster.Ports{GRPC: 7000 + i, Membership: 8000 + i}
	}
	b, err := cfg.Render()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Persistence struct {
			NumHistoryShards int `json:"numHistoryShards"`
			Datastores       map[string]struct {
				SQL struct {
					PluginName   string `json:"pluginName"`
					DatabaseName string `json:"databaseName"`
					ConnectAddr  string `json:"connectAddr"`
				} `json:"sql"`
			} `json:"datastores"`
		} `json:"persistence"`
		Services map[string]struct {
			RPC struct {
				GRPCPort       int `json:"grpcPort"`
				MembershipPort int `json:"membershipPort"`
			} `json:"rpc"`
		} `json:"services"`
		PublicClient struct {
			HostPort string `json:"hostPort"`
		} `json:"publicClient"`
	}
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatalf("the rendered config is not YAML: %v\n%s", err, b)
	}
	if got.Persistence.NumHistoryShards != 4 {
		t.Errorf("numHistoryShards = %d", got.Persistence.NumHistoryShards)
	}
	for store, db := range map[string]string{"postgres-default": "temporal", "postgres-visibility": "temporal_visibility"} {
		sql := got.Persistence.Datastores[store].SQL
		if sql.PluginName != "postgres12" || sql.DatabaseName != db || sql.ConnectAddr != "127.0.0.1:5432" {
			t.Errorf("%s: %+v", store, sql)
		}
	}
	for i, s := range cluster.Services {
		if rpc := got.Services[s].RPC; rpc.GRPCPort != 7000+i || rpc.MembershipPort != 8000+i {
			t.Errorf("service %s: %+v", s, rpc)
		}
	}
	if want := "127.0.0.1:7002"; got.PublicClient.HostPort != want { // the frontend's
		t.Errorf("publicClient.hostPort = %q, want %q", got.PublicClient.HostPort, want)
	}
}

func TestFindBinariesSaysHowToBuild(t *testing.T) {
	t.Setenv(cluster.EnvServer, filepath.Join(t.TempDir(), "missing"))
	_, err := cluster.FindBinaries()
	if err == nil || !strings.Contains(err.Error(), "make bin/temporal-server") {
		t.Fatalf("FindBinaries with a missing server: %v, want the make command in the error", err)
	}
}

// TestClusterStartAndRestart starts Postgres and the cluster, restarts the
// history service with kill -9, and checks that the cluster serves again.
func TestClusterStartAndRestart(t *testing.T) {
	if os.Getenv(EnvClusterTests) == "" {
		t.Skipf("starts a Temporal cluster (and needs its binaries): run it with make test-cluster (%s=1)", EnvClusterTests)
	}
	dir, err := os.MkdirTemp("", "dealflow-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	pg, err := cluster.StartPostgres(ctx, localstack.PostgresOptions{Dir: filepath.Join(dir, "pg"), Database: "postgres", Ephemeral: true}, 300)
	if err != nil {
		t.Fatal(err)
	}
	var c *cluster.Cluster
	t.Cleanup(func() {
		if c != nil {
			if t.Failed() {
				t.Log(c.LogTails(3000))
			}
			c.Stop()
		}
		_ = pg.Stop(context.Background())
		_ = os.RemoveAll(dir)
	})
	t.Logf("postgres up in %s", time.Since(start).Round(time.Millisecond))
	c, err = cluster.Start(ctx, cluster.Options{
		Dir:              filepath.Join(dir, "temporal"),
		DB:               cluster.DB{Port: pg.Port()},
		Namespace:        "probe",
		SearchAttributes: map[string]string{"ProbeKeyword": "Keyword", "ProbeList": "KeywordList", "ProbeDouble": "Double", "ProbeBool": "Bool", "ProbeTime": "Datetime"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tm := c.Timings()
	p, v := c.SchemaVersions()
	t.Logf("temporal %s up: schemas %s/%s in %s, services in %s, namespace in %s",
		c.Version(), p, v, tm.Schema.Round(time.Millisecond), tm.Services.Round(time.Millisecond), tm.Namespace.Round(time.Millisecond))
	down, err := c.Service(cluster.History).Restart(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("history killed and serving again after %s", down.Round(time.Millisecond))
	if err := c.Exited(); err != nil {
		t.Fatal(err)
	}
}
