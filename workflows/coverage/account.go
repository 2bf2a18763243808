package coverage

import (
	"fmt"
	"regexp"
	"strings"

	"dealflow/workflows/problem"
)

// Account is one named account on a program. Owner, when set, is the user
// who answers for it.
type Account struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Industry string `json:"industry,omitempty"`
	Region   string `json:"region,omitempty"`
	Owner    string `json:"owner,omitempty"`
}

// ImportError rejects a whole import of accounts or events: Index is the
// position (from 0) of the offending item in the batch, which the API turns
// into a CSV line or a JSON item; Field names the bad value.
type ImportError struct {
	Index   int
	Field   string
	Message string
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("item %d, field %s: %s", e.Index, e.Field, e.Message)
}

// ImportErrorf returns an *ImportError for item index's field.
func ImportErrorf(index int, field, format string, args ...any) error {
	return &ImportError{Index: index, Field: field, Message: fmt.Sprintf(format, args...)}
}

// clientIDPattern bounds client-chosen ids (accounts and events). No '/',
// which keeps event ids apart from the ids of events taken from deals.
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

const maxAccountText = 200

// CheckAccounts trims each account's fields and checks each account on its
// own and against the others in the batch: the first bad one returns an
// *ImportError. Whether owners exist and names are free on the program is
// the store's to check.
func CheckAccounts(accounts []Account) error {
	ids := make(map[string]int, len(accounts))
	names := make(map[string]int, len(accounts))
	for i := range accounts {
		a := &accounts[i]
		a.ID, a.Name = strings.TrimSpace(a.ID), strings.TrimSpace(a.Name)
		a.Industry, a.Region, a.Owner = strings.TrimSpace(a.Industry), strings.TrimSpace(a.Region), strings.TrimSpace(a.Owner)
		switch {
		case !clientIDPattern.MatchString(a.ID):
			return ImportErrorf(i, "id", "account id %q must be 1-128 letters, digits, '.', '_', ':', '@' or '-'", problem.Clip(a.ID))
		case a.Name == "":
			return ImportErrorf(i, "name", "account %s needs a name", a.ID)
		}
		for _, f := range [...]struct{ field, v string }{{"name", a.Name}, {"industry", a.Industry}, {"region", a.Region}, {"owner", a.Owner}} {
			if msg := problem.LineError(f.v, maxAccountText); msg != "" {
				return ImportErrorf(i, f.field, "%s", msg)
			}
		}
		if j, dup := ids[a.ID]; dup {
			return ImportErrorf(i, "id", "account %s appears twice in this import (also item %d)", a.ID, j)
		}
		ids[a.ID] = i
		if j, dup := names[strings.ToLower(a.Name)]; dup {
			return ImportErrorf(i, "name", "name %q is also given to account %s; deals are matched to accounts by name, so names must differ", a.Name, accounts[j].ID)
		}
		names[strings.ToLower(a.Name)] = i
	}
	return nil
}
