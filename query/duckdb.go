//go:build cgo

package query

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" driver
)

// Available tells whether this build can run queries.
const Available = true

// Run runs sql over the export tables in dirs (see Views) in an
// in-memory DuckDB and returns every row.
func Run(ctx context.Context, sqlText string, dirs []string) (*Result, error) {
	views, err := Views(dirs)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // views live in the connection's catalog
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for _, v := range views {
		if _, err := conn.ExecContext(ctx, v); err != nil {
			return nil, fmt.Errorf("reading the tables: %w", err)
		}
	}
	rows, err := conn.QueryContext(ctx, sqlText)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &Result{}
	if res.Columns, err = rows.Columns(); err != nil {
		return nil, err
	}
	for rows.Next() {
		vals := make([]any, len(res.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}
