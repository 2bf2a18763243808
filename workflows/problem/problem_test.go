package problem

import (
	"strings"
	"testing"
)

func TestTextError(t *testing.T) {
	for _, c := range []struct {
		in     string
		limit  int
		wantOK bool
	}{
		{"plain", 10, true},
		{"two\nlines\r\nand\ttab", 30, true},
		{"中文备注", 4, true},
		{"中文备注!", 4, false},
		{"x\x00y", 10, false},
		{"bell\a", 10, false},
		{"del\x7f", 10, false},
		{"c1\u0085", 10, false},
		{"bad\xffutf8", 20, false},
	} {
		msg := TextError(c.in, c.limit)
		if (msg == "") != c.wantOK {
			t.Errorf("TextError(%q, %d) = %q, want ok=%v", c.in, c.limit, msg, c.wantOK)
		}
	}
	if msg := LineError("a\nb", 10); msg == "" {
		t.Error("LineError accepted a line break")
	}
}

func TestKeyError(t *testing.T) {
	for _, ok := range []string{"acme-2026", "Deal_7", "v1.2", "a", strings.Repeat("x", MaxKey)} {
		if msg := KeyError(ok); msg != "" {
			t.Errorf("KeyError(%q) = %q, want ok", ok, msg)
		}
	}
	for _, bad := range []string{"", "a?b", "a#b", "..", "a..b", ".hidden", "-x", "a/b", "a%2Fb", "a b", "x\x00", "é", strings.Repeat("x", MaxKey+1)} {
		if msg := KeyError(bad); msg == "" {
			t.Errorf("KeyError(%q) accepted it", bad)
		}
	}
}

func TestListCollectsEveryProblem(t *testing.T) {
	var l List
	l.Key("id", "a?b")
	l.Text("note", "x\x00", MaxText)
	l.Line("name", "a\nb", MaxName)
	l.Count("items", 3, 2)
	err := l.Err()
	e, ok := err.(*Error)
	if !ok || len(e.Problems) != 4 {
		t.Fatalf("Err() = %v, want 4 problems", err)
	}
	for i, f := range []string{"id", "note", "name", "items"} {
		if e.Problems[i].Field != f {
			t.Errorf("problem %d names %q, want %q", i, e.Problems[i].Field, f)
		}
	}
	if (List{}).Err() != nil {
		t.Error("an empty list is an error")
	}
}
