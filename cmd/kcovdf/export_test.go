package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/internal/golden"
	"github.com/kcovdf/kcovdf/query"
)

// TestGoldenExport: the JSON Lines export of the small trace, and a query
// over it (in a cgo build: the DuckDB one).
func TestGoldenExport(t *testing.T) {
	const (
		trace  = "testdata/in/sim.kdf"
		layout = "testdata/in/sim.jsonl"
	)
	golden.Check(t, "export-jsonl.txt", transcript(t, "", "export", "--format", "jsonl", "-o", "-", "--layout", layout, trace))
	if !query.Available {
		t.Log("no cgo: query not checked")
		return
	}
	golden.Check(t, "query.txt", transcript(t, "", "query", "--layout", layout,
		"SELECT func, count(*) AS calls, sum(nargs) AS args, max(depth) AS depth FROM calls GROUP BY func ORDER BY calls DESC, func LIMIT 5", trace))
	golden.Check(t, "query-json.txt", transcript(t, "", "query", "--json", "--layout", layout,
		"SELECT c.call_id, c.func, a.name, a.text FROM calls c JOIN args a USING (task_id, call_id) WHERE a.errno > 0 ORDER BY ALL", trace))
}

// TestExportFiles: each format's file is written, and a Parquet export
// is queried as a directory, the same as the trace it came from.
func TestExportFiles(t *testing.T) {
	dir := t.TempDir()
	const layout = "testdata/in/sim.jsonl"
	for _, f := range []string{"jsonl", "perfetto", "parquet"} {
		out := filepath.Join(dir, "out."+f)
		if _, errs, err := runCLI(t, "export", "--format", f, "-o", out, "--layout", layout, "testdata/in/sim.kdf"); err != nil {
			t.Fatalf("%s: %v\n%s", f, err, errs)
		}
		st, err := os.Stat(out)
		if err != nil || (f != "parquet" && st.Size() < 1000) {
			t.Fatalf("%s: %v", f, err)
		}
	}
	stdout, _, _ := runCLI(t, "export", "--format", "jsonl", "-o", "-", "--layout", layout, "testdata/in/sim.kdf")
	if file, _ := os.ReadFile(filepath.Join(dir, "out.jsonl")); !bytes.Equal(file, []byte(stdout)) {
		t.Errorf("-o - and -o FILE differ")
	}
	if !query.Available {
		return
	}
	const sql = "SELECT count(*) AS n, sum(records) AS records FROM calls"
	a, _, err := runCLI(t, "query", "--layout", layout, sql, "testdata/in/sim.kdf")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := runCLI(t, "query", sql, filepath.Join(dir, "out.parquet"))
	if err != nil || a != b || !strings.Contains(a, "108") {
		t.Fatalf("query of the trace %q, of its export %q (%v)", a, b, err)
	}
}

// TestGoldenExportErrors: wrong uses of export and query, garbage given
// as a trace among them.
func TestGoldenExportErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a trace\n"), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "calls.parquet"), []byte("PAR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	const trace = "testdata/in/sim.kdf"
	var all bytes.Buffer
	for _, args := range [][]string{
		{"export"},
		{"export", trace},
		{"export", "-o", "-", trace},
		{"export", "--format", "xml", "-o", "-", trace},
		{"export", "--format", "parquet", "-o", "-", trace},
		{"export", "--format", "jsonl", "-o", "-", garbage},
		{"export", "--format", "jsonl", "-o", "-", filepath.Join(dir, "missing.kdf")},
		{"export", "--format", "jsonl", "-o", filepath.Join(dir, "no", "such", "dir"), trace},
		{"query"},
		{"query", "SELECT 1"},
		{"query", "SELECT 1", filepath.Join(dir, "missing.kdf")},
		{"query", "SELECT 1", filepath.Join(dir, "calls.parquet")},
	} {
		all.Write(transcript(t, dir, args...))
		all.WriteByte('\n')
	}
	golden.Check(t, "export-errors.txt", all.Bytes())
}

// TestLabExport: a lab trace of cat /etc/passwd (KCOVDF_TRACE, with its
// kernel's KCOVDF_VMLINUX) exported and queried: the calls hold every
// record, and the open of /etc/passwd returned fd 3 with O_RDONLY|O_LARGEFILE.
func TestLabExport(t *testing.T) {
	trace, vmlinux := os.Getenv("KCOVDF_TRACE"), os.Getenv("KCOVDF_VMLINUX")
	if trace == "" || vmlinux == "" {
		t.Skip("KCOVDF_TRACE and KCOVDF_VMLINUX (a lab trace of cat /etc/passwd and its kernel) not set")
	}
	if !query.Available {
		t.Skip("no cgo: no DuckDB")
	}
	dir := filepath.Join(t.TempDir(), "tables")
	if _, errs, err := runCLI(t, "export", "--format", "parquet", "-o", dir, "--symbols", vmlinux, trace); err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	out, _, err := runCLI(t, "query", "--json", `SELECT (SELECT sum(records) FROM calls) = (SELECT records FROM tasks) AS all_records,
		(SELECT r.text FROM returns r WHERE r.func = 'do_sys_openat2') AS fd,
		(SELECT f.text FROM fields f WHERE f.func = 'do_sys_openat2' AND f.arg_name = 'how' AND f.name = 'flags') AS flags`, dir)
	if err != nil || strings.TrimSpace(out) != `{"all_records":true,"fd":"3","flags":"0x8000"}` {
		t.Fatalf("%v: %s", err, out)
	}
}
