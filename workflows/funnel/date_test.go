package funnel_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"dealflow/workflows/funnel"
)

func TestDate(t *testing.T) {
	d, err := funnel.ParseDate("2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(1).String(); got != "2026-03-01" {
		t.Errorf("the day after 28 February 2026: %s", got)
	}
	end, _ := funnel.ParseDate("2026-03-31")
	if n := d.DaysUntil(end); n != 31 || end.DaysUntil(d) != -31 {
		t.Errorf("days from %s to %s: %d", d, end, n)
	}
	if !d.Before(end) || d.After(end) || d.Weekday() != time.Saturday {
		t.Errorf("%s: compare or weekday wrong", d)
	}
	// 23:30 UTC on 28 February is already 1 March in Shanghai.
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	at := time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC)
	if got := funnel.DateOf(at, shanghai).String(); got != "2026-03-01" {
		t.Errorf("DateOf in Shanghai: %s", got)
	}
	if got := funnel.DateOf(at, time.UTC).String(); got != "2026-02-28" {
		t.Errorf("DateOf in UTC: %s", got)
	}
	if m := d.Midnight(shanghai); !m.Equal(time.Date(2026, 2, 28, 0, 0, 0, 0, shanghai)) {
		t.Errorf("midnight in Shanghai: %v", m)
	}
	if _, err := funnel.ParseDate("28/02/2026"); err == nil || !strings.Contains(err.Error(), "not a date") {
		t.Errorf("a bad date: %v", err)
	}
	// JSON: "2026-02-28", null for no date, both ways.
	b, _ := json.Marshal([]funnel.Date{d, {}})
	if string(b) != `["2026-02-28",null]` {
		t.Errorf("JSON %s", b)
	}
	var back []funnel.Date
	if err := json.Unmarshal(b, &back); err != nil || back[0] != d || !back[1].IsZero() {
		t.Errorf("read back %v %v", back, err)
	}
}

func TestWeekdaysJSON(t *testing.T) {
	b, _ := json.Marshal(funnel.DefaultWorkingDays)
	if string(b) != `["monday","tuesday","wednesday","thursday","friday"]` {
		t.Errorf("JSON %s", b)
	}
	var ws funnel.Weekdays
	if err := json.Unmarshal([]byte(`["Sun","saturday"]`), &ws); err != nil || len(ws) != 2 || ws[0] != time.Sunday || ws[1] != time.Saturday {
		t.Errorf("read %v %v", ws, err)
	}
	if err := json.Unmarshal([]byte(`["funday"]`), &ws); err == nil {
		t.Error("funday read as a day")
	}
}
