package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/report"
)

// TestExportHTML: the HTML report of two traces holds a task each, with
// as many calls as the JSON Lines export has lines.
func TestExportHTML(t *testing.T) {
	const (
		trace  = "testdata/in/sim.kdf"
		layout = "testdata/in/sim.jsonl"
	)
	out := filepath.Join(t.TempDir(), "r.html")
	if _, errs, err := runCLI(t, "export", "--format", "html", "-o", out, "--layout", layout, trace, trace); err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	open := []byte(`<script type="application/json" id="` + report.DataID + `">`)
	i := bytes.Index(page, open)
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || i < 0 {
		t.Fatalf("not a report: %.200s", page)
	}
	rest := page[i+len(open):]
	var d report.Data
	if err := json.Unmarshal(rest[:bytes.Index(rest, []byte("</script>"))], &d); err != nil {
		t.Fatal(err)
	}
	jsonl, _, err := runCLI(t, "export", "--format", "jsonl", "-o", "-", "--layout", layout, trace)
	if err != nil {
		t.Fatal(err)
	}
	calls := strings.Count(jsonl, "\n")
	if len(d.Tasks) != 2 || len(d.Tasks[0].Fn) != calls || len(d.Tasks[1].Fn) != calls || d.Tasks[0].Name != "sim.kdf" {
		t.Fatalf("%d tasks, want 2 of %d calls", len(d.Tasks), calls)
	}
	if len(d.Stats) == 0 || d.Tasks[0].Meta == nil {
		t.Errorf("no statistics or no metadata")
	}
}
