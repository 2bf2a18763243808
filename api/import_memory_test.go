package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"dealflow/activities/store"
	"dealflow/api"
)

// importHeapBound is what one import may add to the heap (live objects and
// garbage not yet collected) at its peak: proportional to the row limit,
// whatever the file's size. The old reader held about 1.4 GiB for a 31 MiB
// file of short rows.
const importHeapBound = 64 << 20

// TestImportMemoryIsBoundedByRows streams activity CSVs through the real
// import path (HTTP, handler, store, Postgres) and samples the heap while
// each is served: a file at the row limit is stored, a 32 MiB file of
// short rows is refused with 413 once it passes the limit, and neither
// adds more than importHeapBound to the heap. Run with -v for the figures:
//
//	go test -p 1 -count=1 -v -run TestImportMemoryIsBoundedByRows ./api/
func TestImportMemoryIsBoundedByRows(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 100,000 rows")
	}
	s := newStack(t)
	s.funnelUsers()
	dir := t.TempDir()

	atLimit := writeActivities(t, filepath.Join(dir, "at-limit.csv"), "a", api.DefaultMaxImportRows, 0)
	status, body, peak := s.measureUpload(atLimit, "text/csv")
	var res store.FunnelIngest
	if status != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Stored != api.DefaultMaxImportRows {
		t.Fatalf("%d rows at the limit: %d %s", api.DefaultMaxImportRows, status, body)
	}
	if n := s.Count(`SELECT count(*) FROM funnel_activities`); n != api.DefaultMaxImportRows {
		t.Errorf("%d activities stored, want %d", n, api.DefaultMaxImportRows)
	}
	t.Logf("%d rows (%s) stored: peak heap +%.1f MiB", api.DefaultMaxImportRows, size(atLimit), float64(peak)/(1<<20))
	if peak > importHeapBound {
		t.Errorf("an import at the row limit added %d MiB to the heap, want < %d MiB", peak>>20, importHeapBound>>20)
	}

	// 32 MiB of short rows: over a million, refused at the limit.
	big := writeActivities(t, filepath.Join(dir, "32mib.csv"), "b", 0, 32<<20-1)
	status, body, peak = s.measureUpload(big, "text/csv")
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "more than 100000 rows") {
		t.Fatalf("a 32 MiB CSV: %d %s, want 413 naming the row limit", status, body)
	}
	t.Logf("%s CSV refused: peak heap +%.1f MiB", size(big), float64(peak)/(1<<20))
	if peak > importHeapBound {
		t.Errorf("a refused 32 MiB CSV added %d MiB to the heap, want < %d MiB", peak>>20, importHeapBound>>20)
	}

	bigJSON := writeActivitiesJSON(t, filepath.Join(dir, "32mib.json"), 32<<20-1)
	status, body, peak = s.measureUpload(bigJSON, "application/json")
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "more than 100000 rows") {
		t.Fatalf("a 32 MiB JSON array: %d %s, want 413 naming the row limit", status, body)
	}
	t.Logf("%s JSON array refused: peak heap +%.1f MiB", size(bigJSON), float64(peak)/(1<<20))
	if peak > importHeapBound {
		t.Errorf("a refused 32 MiB JSON array added %d MiB to the heap, want < %d MiB", peak>>20, importHeapBound>>20)
	}
	if n := s.Count(`SELECT count(*) FROM funnel_activities`); n != api.DefaultMaxImportRows {
		t.Errorf("%d activities stored after the refused uploads, want %d", n, api.DefaultMaxImportRows)
	}
}

var reps = [...]string{"rita", "sam", "tom"}

// writeActivities writes a CSV of activities with ids prefix+n: rows rows,
// or (rows 0) as many as fit in maxBytes.
func writeActivities(t *testing.T, path, prefix string, rows int, maxBytes int) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	n, _ := w.WriteString("id,rep,kind,at\n")
	for i := 0; rows == 0 || i < rows; i++ {
		line := fmt.Sprintf("%s%x,%s,call,2026-07-01T09:30:00Z\n", prefix, i, reps[i%3])
		if rows == 0 && n+len(line) > maxBytes {
			break
		}
		m, _ := w.WriteString(line)
		n += m
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeActivitiesJSON writes a JSON array of activities of at most
// maxBytes.
func writeActivitiesJSON(t *testing.T, path string, maxBytes int) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	n, _ := w.WriteString("[")
	for i := 0; ; i++ {
		item := fmt.Sprintf(`{"id":"j%x","rep":"%s","kind":"call","at":"2026-07-01T09:30:00Z"},`, i, reps[i%3])
		if n+len(item)+1 > maxBytes {
			break
		}
		m, _ := w.WriteString(item)
		n += m
	}
	_, _ = w.WriteString(`{"id":"last","rep":"rita","kind":"call","at":"2026-07-01T09:30:00Z"}]`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func size(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))
}

// measureUpload posts a file (streamed from disk, so the test holds none
// of it) as pat to /v1/funnel/activities and returns the answer and the
// peak heap above the heap before it, sampled every millisecond.
func (s *stack) measureUpload(path, contentType string) (int, []byte, uint64) {
	s.T.Helper()
	f, err := os.Open(path)
	if err != nil {
		s.T.Fatal(err)
	}
	defer f.Close()
	req, err := http.NewRequest("POST", s.Server.URL+"/v1/funnel/activities", f)
	if err != nil {
		s.T.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+s.Tokens["pat"])

	runtime.GC()
	base := heapBytes()
	var peak uint64
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapBytes(); h > peak {
				peak = h
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	resp, err := http.DefaultClient.Do(req)
	close(done)
	wg.Wait()
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if peak < base {
		return resp.StatusCode, body, 0
	}
	return resp.StatusCode, body, peak - base
}

// heapBytes is the heap's objects, live and not yet collected
// (runtime/metrics, which does not stop the world).
func heapBytes() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}
