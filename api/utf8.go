package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"dealflow/workflows/deal"
	"dealflow/workflows/problem"
)

// invalidUTF8Field names the JSON field whose string holds the first
// invalid UTF-8 in raw ("note", "ops[0].milestone.title"); it reports
// false when raw is valid UTF-8, or not JSON (decoding then says why). encoding/json would quietly turn invalid bytes into
// U+FFFD, so text a user sent broken would be stored changed; instead the
// request is refused, naming the field (the text rules of package problem
// refuse invalid UTF-8 too, but never see it after decoding).
func invalidUTF8Field(raw []byte) (string, bool) {
	bad := firstInvalidUTF8(raw)
	if bad < 0 {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	type level struct {
		array bool
		index int
		key   string
		isKey bool // an object's next string token is a key
	}
	var stack []level
	path := func() string {
		var b strings.Builder
		for _, l := range stack {
			if l.array {
				fmt.Fprintf(&b, "[%d]", l.index)
			} else if l.key != "" {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(l.key)
			}
		}
		return b.String()
	}
	// afterValue moves the innermost container past one value.
	afterValue := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].isKey = true
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			// Malformed JSON: decoding says where, with a 400.
			return "", false
		}
		ended := dec.InputOffset() > int64(bad)
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, level{isKey: true})
			case '[':
				stack = append(stack, level{array: true})
			default:
				stack = stack[:len(stack)-1]
				afterValue()
			}
		case string:
			if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].isKey {
				stack[n-1].key, stack[n-1].isKey = t, false
				if ended {
					return cmp.Or(path(), "body"), true
				}
				continue
			}
			if ended {
				return cmp.Or(path(), "body"), true
			}
			afterValue()
		default:
			afterValue()
		}
	}
}

// firstInvalidUTF8 is the offset of the first invalid UTF-8 byte, or -1.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// utf8Error refuses raw when it holds invalid UTF-8, naming the field.
func utf8Error(raw []byte) *Error {
	field, bad := invalidUTF8Field(raw)
	if !bad {
		return nil
	}
	msg := "is not valid UTF-8 text"
	return &Error{Status: http.StatusUnprocessableEntity, Code: string(deal.CodeInvalid), Message: field + ": " + msg, Problems: []problem.Problem{{Field: field, Message: msg}}}
}
