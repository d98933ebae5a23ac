package query_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/query"
)

// Each table of an export is a view over the same table of every
// directory given, so a fleet's exports are queried as one.
func ExampleViews() {
	root, _ := os.MkdirTemp("", "fleet")
	defer os.RemoveAll(root)
	var dirs []string
	for _, run := range []string{"run1", "run2"} {
		d := filepath.Join(root, run)
		os.Mkdir(d, 0o755)
		for _, t := range export.Tables { // as kcovdf export --format parquet -o DIR writes them
			os.WriteFile(filepath.Join(d, t+".parquet"), nil, 0o644)
		}
		dirs = append(dirs, d)
	}
	views, err := query.Views(dirs)
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.ReplaceAll(views[0], root, "FLEET"))
	// Output:
	// CREATE VIEW calls AS SELECT * FROM read_parquet(['FLEET/run1/calls.parquet', 'FLEET/run2/calls.parquet'], union_by_name = true)
}
