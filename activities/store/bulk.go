package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// maxBulkParams keeps one multi-row INSERT well below Postgres' limit of
// 65535 bind parameters.
const maxBulkParams = 30000

// bulkInsert runs head + " VALUES (...), (...) " + tail with one group of
// placeholders per row, in as few statements as the parameter limit allows.
// Every row must have the same number of values.
func bulkInsert(ctx context.Context, q sqlx.ExtContext, head, tail string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	per := max(1, maxBulkParams/width)
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		var b strings.Builder
		args := make([]any, 0, len(chunk)*width)
		b.WriteString(head)
		b.WriteString(" VALUES ")
		for i, r := range chunk {
			if len(r) != width {
				return fmt.Errorf("store: bulk insert: row %d has %d values, want %d", start+i, len(r), width)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, v := range r {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				fmt.Fprintf(&b, "$%d", len(args))
			}
			b.WriteByte(')')
		}
		b.WriteByte(' ')
		b.WriteString(tail)
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
