package localstack

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

func startTemporal(t *testing.T, opts TemporalOptions) *Temporal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tp, err := StartTemporal(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Stop() })
	return tp
}

func stopTemporal(t *testing.T, tp *Temporal) {
	t.Helper()
	pid := tp.proc.pid()
	if err := tp.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if alive(pid) {
		t.Fatalf("temporal pid %d still running after Stop", pid)
	}
}

func searchAttributes(t *testing.T, c client.Client, ns string) map[string]enums.IndexedValueType {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetCustomAttributes()
}

func TestTemporalHeadlessInMemory(t *testing.T) {
	t.Parallel()
	tp := startTemporal(t, TemporalOptions{UIPort: -1, SearchAttributes: map[string]string{"DealId": "Keyword"}})
	if tp.UIURL() != "" {
		t.Errorf("UIURL() = %q for a headless server", tp.UIURL())
	}
	c, err := client.Dial(client.Options{HostPort: tp.Address(), Logger: quietSDKLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(context.Background(), &client.CheckHealthRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := searchAttributes(t, c, "default")["DealId"]; got != enums.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("DealId registered as %v", got)
	}

	// Later additions go through the operator API; a type clash is an error.
	ctx := context.Background()
	if err := EnsureSearchAttributes(ctx, tp.Address(), "default", map[string]string{"DealStage": "keyword", "DealValue": "Double"}); err != nil {
		t.Fatal(err)
	}
	attrs := searchAttributes(t, c, "default")
	if attrs["DealStage"] != enums.INDEXED_VALUE_TYPE_KEYWORD || attrs["DealValue"] != enums.INDEXED_VALUE_TYPE_DOUBLE {
		t.Fatalf("attributes after Ensure: %v", attrs)
	}
	if err := EnsureSearchAttributes(ctx, tp.Address(), "default", map[string]string{"DealId": "Int"}); err == nil {
		t.Fatal("re-registering DealId as Int should fail")
	}
	c.Close()
	stopTemporal(t, tp)
}

// The dev-stack shape: UI on, a named namespace, SQLite file that survives a
// restart.
func TestTemporalWithUIAndDBFile(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "sub", "temporal.db")
	opts := TemporalOptions{DBFile: db, Namespace: "dealflow", SearchAttributes: map[string]string{"DealId": "Keyword"}}
	tp := startTemporal(t, opts)
	if !strings.HasPrefix(tp.UIURL(), "http://127.0.0.1:") {
		t.Fatalf("UIURL() = %q", tp.UIURL())
	}
	resp, err := http.Get(tp.UIURL())
	if err != nil {
		t.Fatalf("UI: %v", err)
	}
	resp.Body.Close()

	c, err := client.Dial(client.Options{HostPort: tp.Address(), Namespace: "dealflow", Logger: quietSDKLogger})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckHealth(context.Background(), &client.CheckHealthRequest{}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	stopTemporal(t, tp)

	// Restart on the same file with an attribute added since: it is
	// registered although the namespace already exists.
	opts.SearchAttributes = map[string]string{"DealId": "Keyword", "Owner": "Keyword"}
	tp = startTemporal(t, opts)
	c, err = client.Dial(client.Options{HostPort: tp.Address(), Namespace: "dealflow", Logger: quietSDKLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := searchAttributes(t, c, "dealflow"); got["Owner"] != enums.INDEXED_VALUE_TYPE_KEYWORD || got["DealId"] != enums.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("attributes after restart: %v", got)
	}
	c.Close()
	stopTemporal(t, tp)
}

func TestFindTemporalCLI(t *testing.T) {
	t.Setenv("TEMPORAL_CLI", "/nonexistent/temporal")
	if _, err := FindTemporalCLI(); err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("err = %v, want a hint to run make tools", err)
	}
}

func TestFreePortDistinct(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
