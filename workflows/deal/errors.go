package deal

import "fmt"

// ErrorCode classifies why an action was refused, so the API can choose an
// HTTP status without parsing messages.
type ErrorCode string

// Error codes.
const (
	CodeInvalid   ErrorCode = "invalid"   // the input itself is wrong (422)
	CodeForbidden ErrorCode = "forbidden" // this person may not do this (403)
	CodeConflict  ErrorCode = "conflict"  // not allowed in the current state (409)
	CodeNotFound  ErrorCode = "not_found" // no such milestone (404)
	// CodeTooLarge: the deal (or the events of one change) would grow past
	// its bound, MaxStateBytes or MaxEventBytes (413).
	CodeTooLarge ErrorCode = "too_large"
)

// ActionError is a refused action with a message that says what is wrong and
// how to fix it.
type ActionError struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

func (e *ActionError) Error() string { return e.Message }

func refuse(code ErrorCode, format string, args ...any) error {
	return &ActionError{Code: code, Message: fmt.Sprintf(format, args...)}
}
