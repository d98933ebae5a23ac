//go:build !cgo

package query

import "context"

// Run needs DuckDB, which needs cgo: this build has neither.
func Run(ctx context.Context, sqlText string, dirs []string) (*Result, error) {
	return nil, ErrNoCgo
}
