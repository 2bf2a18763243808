package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"dealflow/workflows/deal"
)

// DealFilter selects and orders deals for ListDeals. Zero fields do not
// filter.
type DealFilter struct {
	// Status is a deal status (active, paused, won, lost, cancelled), or
	// "open" (active or paused) or "closed" (won, lost or cancelled).
	Status string
	// Stage is a milestone key: deals where that milestone is open.
	Stage string
	// PMO is a user id.
	PMO string
	// Customer matches the customer name exactly, ignoring case.
	Customer string
	Overdue  *bool
	// Text matches a substring of the deal's name or customer, ignoring case.
	Text string
	// Sort is one of Sorts; "" means "-updated_at" (most recent first).
	Sort string
	// Limit is the page size: default 50, at most 200 (larger is capped).
	Limit int
	// Cursor is the NextCursor of the previous page, unchanged; "" starts at
	// the beginning.
	Cursor string
}

// DealPage is one page of ListDeals. NextCursor is "" on the last page.
type DealPage struct {
	Deals      []DealSummary `json:"deals"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// DealSummary is a deal's list row: the projection's columns, not its whole
// state (GetDeal returns that).
type DealSummary struct {
	ID           string          `json:"id" db:"id"`
	Name         string          `json:"name" db:"name"`
	Customer     string          `json:"customer" db:"customer"`
	Amount       float64         `json:"amount" db:"amount"`
	Currency     string          `json:"currency" db:"currency"`
	Status       deal.DealStatus `json:"status" db:"status"`
	Template     string          `json:"template" db:"template"`
	PMO          string          `json:"pmo" db:"pmo"`
	Stage        []string        `json:"stage" db:"-"`
	BuyerStage   deal.BuyerStage `json:"buyer_stage,omitempty" db:"buyer_stage"`
	Overdue      bool            `json:"overdue" db:"overdue"`
	NextDeadline *time.Time      `json:"next_deadline,omitempty" db:"next_deadline"`
	StartedAt    time.Time       `json:"started_at" db:"started_at"`
	UpdatedAt    time.Time       `json:"updated_at" db:"updated_at"`
	ClosedAt     *time.Time      `json:"closed_at,omitempty" db:"closed_at"`
	Version      int64           `json:"version" db:"version"`
}

// Page sizes for ListDeals.
const (
	DefaultDealLimit = 50
	MaxDealLimit     = 200
	maxTextFilter    = 200
)

// sortOrder is one way to order deals: an SQL expression, its type (to cast
// the cursor's key back), and a direction. id breaks ties in the same
// direction, so (key, id) is a total order and keyset pagination is exact.
type sortOrder struct {
	expr, typ string
	desc      bool
}

var sortOrders = map[string]sortOrder{
	"updated_at":    {"updated_at", "timestamptz", false},
	"-updated_at":   {"updated_at", "timestamptz", true},
	"amount":        {"amount", "numeric", false},
	"-amount":       {"amount", "numeric", true},
	"next_deadline": {"COALESCE(next_deadline, 'infinity'::timestamptz)", "timestamptz", false}, // none last
	"name":          {"name", "text", false},
}

// Sorts lists the accepted DealFilter.Sort values.
var Sorts = []string{"updated_at", "-updated_at", "amount", "-amount", "next_deadline", "name"}

// DefaultSort is the order of ListDeals without DealFilter.Sort.
const DefaultSort = "-updated_at"

var statusFilters = map[string][]string{
	"active":    {string(deal.DealActive)},
	"paused":    {string(deal.DealPaused)},
	"won":       {string(deal.DealWon)},
	"lost":      {string(deal.DealLost)},
	"cancelled": {string(deal.DealCancelled)},
	"open":      {string(deal.DealActive), string(deal.DealPaused)},
	"closed":    {string(deal.DealWon), string(deal.DealLost), string(deal.DealCancelled)},
}

// cursor is what NextCursor encodes: the sort it belongs to and the last
// row's sort key (as Postgres prints it) and id.
type cursor struct {
	Sort string `json:"s"`
	Key  string `json:"k"`
	ID   string `json:"i"`
}

const sqlListDealsSelect = `
SELECT id, name, customer, amount, currency, status, template, pmo, stage, buyer_stage,
	overdue, next_deadline, started_at, updated_at, closed_at, version, (%s)::text AS sort_key
FROM deals`

// ListDeals returns one page of deals matching f, in f.Sort order. Invalid
// filters return an *InputError.
func (s *Store) ListDeals(ctx context.Context, f DealFilter) (DealPage, error) {
	query, args, limit, err := buildDealQuery(f)
	if err != nil {
		return DealPage{}, err
	}
	var rows []struct {
		DealSummary
		Stage   pq.StringArray `db:"stage"`
		SortKey string         `db:"sort_key"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, query, args...); err != nil {
		if pe := pq.As(err); pe != nil && pe.Code.Class() == "22" && f.Cursor != "" {
			return DealPage{}, inputErr("cursor", "the cursor is not valid: pass next_cursor from the previous page unchanged")
		}
		return DealPage{}, fmt.Errorf("store: listing deals: %w", err)
	}
	page := DealPage{Deals: make([]DealSummary, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			page.NextCursor = encodeCursor(cursor{Sort: sortName(f.Sort), Key: last.SortKey, ID: last.ID})
			break
		}
		d := r.DealSummary
		d.Stage = []string(r.Stage)
		if d.Stage == nil {
			d.Stage = []string{}
		}
		page.Deals = append(page.Deals, d)
	}
	return page, nil
}

func sortName(s string) string {
	if s == "" {
		return DefaultSort
	}
	return s
}

// buildDealQuery validates f and returns the query, its arguments and the
// page size (the query fetches one row more, to know whether a page follows).
func buildDealQuery(f DealFilter) (string, []any, int, error) {
	sortKey := sortName(f.Sort)
	order, ok := sortOrders[sortKey]
	if !ok {
		return "", nil, 0, inputErr("sort", "unknown sort %q: use one of %s", f.Sort, strings.Join(Sorts, ", "))
	}
	limit := f.Limit
	switch {
	case limit < 0:
		return "", nil, 0, inputErr("limit", "limit cannot be negative")
	case limit == 0:
		limit = DefaultDealLimit
	case limit > MaxDealLimit:
		limit = MaxDealLimit
	}

	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		statuses, ok := statusFilters[f.Status]
		if !ok {
			names := make([]string, 0, len(statusFilters))
			for k := range statusFilters {
				names = append(names, k)
			}
			slices.Sort(names)
			return "", nil, 0, inputErr("status", "unknown status %q: use one of %s", f.Status, strings.Join(names, ", "))
		}
		where = append(where, "status = ANY("+arg(pq.StringArray(statuses))+"::text[])")
	}
	if f.Stage != "" {
		where = append(where, "stage @> ARRAY["+arg(f.Stage)+"::text]")
	}
	if f.PMO != "" {
		where = append(where, "pmo = "+arg(f.PMO))
	}
	if f.Customer != "" {
		where = append(where, "lower(customer) = lower("+arg(f.Customer)+")")
	}
	if f.Overdue != nil {
		where = append(where, "overdue = "+arg(*f.Overdue))
	}
	if text := strings.TrimSpace(f.Text); text != "" {
		if len(text) > maxTextFilter {
			return "", nil, 0, inputErr("q", "search text is longer than %d characters", maxTextFilter)
		}
		where = append(where, "lower(name || ' ' || customer) LIKE '%' || lower("+arg(escapeLike(text))+") || '%'")
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, 0, err
		}
		if c.Sort != sortKey {
			return "", nil, 0, inputErr("cursor", "the cursor belongs to sort %q, not %q: restart without a cursor when changing the sort", c.Sort, sortKey)
		}
		cmp := ">"
		if order.desc {
			cmp = "<"
		}
		where = append(where, fmt.Sprintf("(%s, id) %s (%s::%s, %s)", order.expr, cmp, arg(c.Key), order.typ, arg(c.ID)))
	}

	var b strings.Builder
	fmt.Fprintf(&b, sqlListDealsSelect, order.expr)
	if len(where) > 0 {
		b.WriteString("\nWHERE ")
		b.WriteString(strings.Join(where, "\n\tAND "))
	}
	dir := "ASC"
	if order.desc {
		dir = "DESC"
	}
	fmt.Fprintf(&b, "\nORDER BY %s %s, id %s\nLIMIT %s", order.expr, dir, dir, arg(limit+1))
	return b.String(), args, limit, nil
}

// escapeLike escapes LIKE's wildcards so the text matches literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // three strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Sort == "" || c.ID == "" || c.Key == "" {
		return cursor{}, inputErr("cursor", "the cursor is not valid: pass next_cursor from the previous page unchanged")
	}
	return c, nil
}
