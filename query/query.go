package query

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kcovdf/kcovdf/export"
)

// ErrNoCgo is Run's error in a build without cgo.
var ErrNoCgo = errors.New("query needs a cgo build of kcovdf (DuckDB is C++): build it with CGO_ENABLED=1 and a C compiler")

// Result is a query's columns and rows, values as the database/sql
// driver returns them (int64, uint64, float64, string, bool, time.Time,
// nil for NULL, ...).
type Result struct {
	Columns []string
	Rows    [][]any
}

// Views returns the statements that make each table of the export a view
// over the same table of every directory in dirs. A directory must hold
// an export's tables; a table missing from all of them is an error.
func Views(dirs []string) ([]string, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no tables to query: give traces or directories written by kcovdf export --format parquet")
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "calls.parquet")); err != nil {
			return nil, fmt.Errorf("%s: no calls.parquet: give a directory written by kcovdf export --format parquet", d)
		}
	}
	var stmts []string
	for _, t := range export.Tables {
		var files []string
		for _, d := range dirs {
			p := filepath.Join(d, t+".parquet")
			if _, err := os.Stat(p); err == nil {
				files = append(files, quote(p))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no %s.parquet in %s", t, strings.Join(dirs, ", "))
		}
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet([%s], union_by_name = true)", t, strings.Join(files, ", ")))
	}
	return stmts, nil
}

// quote makes s an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
