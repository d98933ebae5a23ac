package query_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/internal/exporttest"
	"github.com/kcovdf/kcovdf/query"
)

// exported simulates a task, exports it into dir and returns it.
func exported(tb testing.TB, words int, dir string) *export.Task {
	tb.Helper()
	if !query.Available {
		tb.Skip("a build without cgo has no DuckDB")
	}
	task, err := exporttest.Sim(11, words)
	if err != nil {
		tb.Fatal(err)
	}
	if err := export.WriteParquet(dir, []*export.Task{task}); err != nil {
		tb.Fatal(err)
	}
	return task
}

func one(t *testing.T, sql string, dirs ...string) []any {
	t.Helper()
	res, err := query.Run(context.Background(), sql, dirs)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("%s: %d rows", sql, len(res.Rows))
	}
	return res.Rows[0]
}

// TestCounts: DuckDB reads the tables back with a row per call, argument
// and return, and the calls' records add up to the trace's.
func TestCounts(t *testing.T) {
	dir := t.TempDir()
	task := exported(t, 8192, dir)
	args, rets := 0, 0
	for i := range task.Tree.Calls {
		args += len(task.Names.Args(task.Tree, i))
		if _, ok := task.Names.Ret(task.Tree, i); ok {
			rets++
		}
	}
	got := one(t, `SELECT (SELECT count(*) FROM calls), (SELECT sum(records) FROM calls), (SELECT records FROM tasks),
		(SELECT count(*) FROM args), (SELECT count(*) FROM returns), (SELECT count(*) FROM captures)`, dir)
	want := []any{int64(len(task.Tree.Calls)), float64(task.Summary.Records), int64(task.Summary.Records), int64(args), int64(rets), int64(1)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	// The same tables twice: every view reads both.
	got = one(t, `SELECT count(*), count(DISTINCT task_id) FROM calls`, dir, dir)
	if got[0] != int64(2*len(task.Tree.Calls)) || got[1] != int64(1) {
		t.Fatalf("two directories: %v", got)
	}
}

// TestValues: the README's example queries give what the tree holds.
func TestValues(t *testing.T) {
	dir := t.TempDir()
	task := exported(t, 8192, dir)
	byFunc := map[string]int{}
	top := ""
	// Every value the second field of the first struct argument met took,
	// in all calls of its function.
	fn, arg := "", ""
	want := map[string]bool{}
	errPtrs := 0
	nameOf := func(i int) string { return task.Names.Func(task.Tree.Calls[i].PC).NameOr(task.Tree.Calls[i].PC) }
	for i := range task.Tree.Calls {
		name := nameOf(i)
		byFunc[name]++
		if top == "" || byFunc[name] > byFunc[top] || byFunc[name] == byFunc[top] && name < top {
			top = name
		}
	}
	for i := range task.Tree.Calls {
		for _, a := range task.Names.Args(task.Tree, i) {
			if len(a.Fields) > 1 && (fn == "" || byFunc[nameOf(i)] > byFunc[fn]) {
				fn, arg = nameOf(i), a.Name
			}
		}
	}
	for i := range task.Tree.Calls {
		name := nameOf(i)
		for _, a := range task.Names.Args(task.Tree, i) {
			if a.Errno != 0 {
				errPtrs++
			}
			if name == fn && a.Name == arg && len(a.Fields) > 1 {
				want[a.Fields[1].Text] = true
			}
		}
	}
	res, err := query.Run(context.Background(), fmt.Sprintf(`SELECT DISTINCT text FROM fields
		WHERE func = '%s' AND arg_name = '%s' AND field = 1 ORDER BY text`, fn, arg), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, r[0].(string))
	}
	var wantList []string
	for v := range want {
		wantList = append(wantList, v)
	}
	slices.Sort(wantList)
	if len(wantList) < 2 || !slices.Equal(got, wantList) {
		t.Fatalf("values of %s %s's field 1: %v, want %v", fn, arg, got, wantList)
	}
	row := one(t, `SELECT func, count(*) AS n FROM calls GROUP BY func ORDER BY n DESC, func LIMIT 1`, dir)
	if row[0] != top || row[1] != int64(byFunc[top]) {
		t.Fatalf("most called %v, want %s %d", row, top, byFunc[top])
	}
	if row := one(t, `SELECT count(*) FROM args WHERE errno > 0`, dir); row[0] != int64(errPtrs) || errPtrs == 0 {
		t.Fatalf("ERR_PTR arguments: %v, want %d", row, errPtrs)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	exported(t, 4096, dir)
	for sql, want := range map[string]string{
		"SELEC 1":                  "syntax error",
		"SELECT nosuch FROM calls": "nosuch",
		"SELECT * FROM nosuch":     "nosuch",
	} {
		if _, err := query.Run(context.Background(), sql, []string{dir}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", sql, err, want)
		}
	}
	empty := t.TempDir()
	if _, err := query.Run(context.Background(), "SELECT 1", []string{empty}); err == nil || !strings.Contains(err.Error(), "no calls.parquet") {
		t.Errorf("empty directory: %v", err)
	}
	os.WriteFile(filepath.Join(empty, "calls.parquet"), []byte("not parquet"), 0o644)
	if _, err := query.Run(context.Background(), "SELECT 1", []string{empty}); err == nil {
		t.Errorf("a directory without the other tables: no error")
	}
	if _, err := query.Run(context.Background(), "SELECT 1", nil); err == nil {
		t.Errorf("no directories: no error")
	}
}

var (
	bigOnce sync.Once
	bigDir  string
)

// BenchmarkAggregate: calls and errors by function over the export of a
// full 16 M-word trace.
func BenchmarkAggregate(b *testing.B) {
	bigOnce.Do(func() {
		d, err := os.MkdirTemp("", "kcovdf-bench-")
		if err != nil {
			b.Fatal(err)
		}
		bigDir = d
		exported(b, 1<<24, bigDir)
	})
	b.Cleanup(func() {})
	for b.Loop() {
		res, err := query.Run(context.Background(), `SELECT c.func, count(*) AS calls, count(a.call_id) AS args, sum(c.errno > 0) AS errors
			FROM calls c LEFT JOIN args a USING (task_id, call_id) GROUP BY c.func ORDER BY calls DESC`, []string{bigDir})
		if err != nil || len(res.Rows) == 0 {
			b.Fatal(err)
		}
	}
}
