package export_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/export"
	"github.com/parquet-go/parquet-go"
)

// TestSchemaDocumented: docs/export.md lists every column of every
// Parquet table, in the files' order, and no other.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/export.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]any{
		"calls": export.CallRow{}, "args": export.ArgRow{}, "returns": export.ReturnRow{}, "fields": export.FieldRow{},
		"functions": export.FunctionRow{}, "tasks": export.TaskRow{}, "captures": export.CaptureRow{},
	}
	documented := map[string][]string{}
	table := ""
	heading := regexp.MustCompile("^### ([a-z]+)\\.parquet$")
	column := regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|")
	for line := range strings.Lines(string(doc)) {
		line = strings.TrimSpace(line)
		if m := heading.FindStringSubmatch(line); m != nil {
			table = m[1]
		} else if strings.HasPrefix(line, "#") {
			table = ""
		} else if m := column.FindStringSubmatch(line); m != nil && table != "" {
			documented[table] = append(documented[table], m[1])
		}
	}
	for _, name := range export.Tables {
		var cols []string
		for _, f := range parquet.SchemaOf(rows[name]).Fields() {
			cols = append(cols, f.Name())
		}
		if !slices.Equal(cols, documented[name]) {
			t.Errorf("%s.parquet: columns %v, docs/export.md lists %v", name, cols, documented[name])
		}
	}
	if len(documented) != len(export.Tables) {
		t.Errorf("docs/export.md documents %d tables, the export writes %d", len(documented), len(export.Tables))
	}
}
