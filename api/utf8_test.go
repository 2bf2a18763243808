package api

import "testing"

func TestInvalidUTF8Field(t *testing.T) {
	for _, c := range []struct {
		raw, field string
	}{
		{"{\"stage\": \"x\", \"note\": \"bad \xff text\"}", "note"},
		{"{\"ops\": [{\"op\": \"add\"}, {\"op\": \"add\", \"milestone\": {\"key\": \"k\", \"title\": \"\xc3(\"}}]}", "ops[1].milestone.title"},
		{"{\"checklist\": [\"ok\", \"b\xffd\"]}", "checklist[1]"},
		{"{\"k\xff\": 1}", "k\ufffd"},
		{"[\"\xff\"]", "[0]"},
		{"\"\xff\"", "body"},
	} {
		field, bad := invalidUTF8Field([]byte(c.raw))
		if !bad || field != c.field {
			t.Errorf("%q: field %q (%v), want %q", c.raw, field, bad, c.field)
		}
	}
	for _, ok := range []string{`{"note": "中文 fine"}`, "{\"note\": \"\xff"} {
		if field, bad := invalidUTF8Field([]byte(ok)); bad {
			t.Errorf("%q refused as bad UTF-8 in %q; valid text passes, malformed JSON is decoding's to report", ok, field)
		}
	}
}
