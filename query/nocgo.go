//go:build !cgo

package query

import "context"

// Available tells whether this build can run queries.
const Available = false

// Run needs DuckDB, which needs cgo: this build has neither.
func Run(ctx context.Context, sqlText string, dirs []string) (*Result, error) {
	return nil, ErrNoCgo
}
