package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/internal/exporttest"
	"github.com/parquet-go/parquet-go"
)

func simTask(tb testing.TB, seed uint64, words int) *export.Task {
	tb.Helper()
	task, err := exporttest.Sim(seed, words)
	if err != nil {
		tb.Fatal(err)
	}
	return task
}

func TestJSONL(t *testing.T) {
	task := simTask(t, 3, 4096)
	var b bytes.Buffer
	if err := export.WriteJSONL(&b, []*export.Task{task}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(task.Tree.Calls) {
		t.Fatalf("%d lines for %d calls", len(lines), len(task.Tree.Calls))
	}
	errs := 0
	for i, line := range lines {
		var l export.CallLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		c := task.Tree.Calls[i]
		if l.Call != i || l.Parent != c.Parent || l.Depth != c.Depth || l.Seq != c.Seq || l.TaskID != task.ID || l.Func == "" {
			t.Fatalf("line %d: %+v for call %+v", i, l, c)
		}
		if want := task.Names.Args(task.Tree, i); len(l.Args) != len(want) || len(want) > 0 && l.Args[0].Text != want[0].Text {
			t.Fatalf("line %d: args %v, want %v", i, l.Args, want)
		}
		if r, ok := task.Names.Ret(task.Tree, i); ok != (l.Ret != nil) || ok && (r.Text != l.Ret.Text || r.Errno != l.Ret.Errno) {
			t.Fatalf("line %d: ret %v, want %v", i, l.Ret, r)
		} else if ok && r.Errno != 0 {
			errs++
		}
	}
	t.Logf("%d calls, %d returned an errno", len(lines), errs)
}

// TestParquetReadBack: every table read back with parquet-go holds a row
// per call, argument, return, field and function, with the values show
// would print.
func TestParquetReadBack(t *testing.T) {
	tasks := []*export.Task{simTask(t, 3, 4096), simTask(t, 5, 8192)}
	dir := t.TempDir()
	if err := export.WriteParquet(dir, tasks); err != nil {
		t.Fatal(err)
	}
	read := func(name string, rows any) {
		t.Helper()
		var err error
		p := filepath.Join(dir, name+".parquet")
		switch r := rows.(type) {
		case *[]export.CallRow:
			*r, err = parquet.ReadFile[export.CallRow](p)
		case *[]export.ArgRow:
			*r, err = parquet.ReadFile[export.ArgRow](p)
		case *[]export.ReturnRow:
			*r, err = parquet.ReadFile[export.ReturnRow](p)
		case *[]export.FieldRow:
			*r, err = parquet.ReadFile[export.FieldRow](p)
		case *[]export.FunctionRow:
			*r, err = parquet.ReadFile[export.FunctionRow](p)
		case *[]export.TaskRow:
			*r, err = parquet.ReadFile[export.TaskRow](p)
		case *[]export.CaptureRow:
			*r, err = parquet.ReadFile[export.CaptureRow](p)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var cr []export.CallRow
	var ar []export.ArgRow
	var rr []export.ReturnRow
	var fr []export.FieldRow
	var fn []export.FunctionRow
	var tr []export.TaskRow
	var mr []export.CaptureRow
	read("calls", &cr)
	read("args", &ar)
	read("returns", &rr)
	read("fields", &fr)
	read("functions", &fn)
	read("tasks", &tr)
	read("captures", &mr)
	var nCalls, nArgs, nRets, nFields, nFuncs int
	ci, ai, ri := 0, 0, 0
	for k, task := range tasks {
		pcs := map[uint64]bool{}
		records := 0
		for i := range task.Tree.Calls {
			c := &task.Tree.Calls[i]
			pcs[c.PC] = true
			row := cr[ci]
			ci++
			records += int(row.Records)
			if row.TaskID != task.ID || int(row.CallID) != i || row.Parent != c.Parent || row.End != c.End || row.PC != c.PC || row.Seq != int64(c.Seq) ||
				row.Func != task.Names.Func(c.PC).NameOr(c.PC) || row.NoReturn != (c.Flags&calls.NoReturn != 0) {
				t.Fatalf("task %d call %d: row %+v", k, i, row)
			}
			for _, a := range task.Names.Args(task.Tree, i) {
				got := ar[ai]
				ai++
				if got.CallID != int32(i) || got.Name != a.Name || got.Text != a.Text || got.Raw != a.Raw || int(got.NFields) != len(a.Fields) {
					t.Fatalf("task %d call %d: arg row %+v, want %+v", k, i, got, a)
				}
				nFields += len(a.Fields)
			}
			if r, ok := task.Names.Ret(task.Tree, i); ok {
				got := rr[ri]
				ri++
				if got.CallID != int32(i) || got.Text != r.Text || got.Raw != r.Raw || int64(got.Errno) != r.Errno || got.ErrnoName != calls.ErrnoName(r.Errno) || row.Errno != got.Errno {
					t.Fatalf("task %d call %d: return row %+v, want %+v", k, i, got, r)
				}
				nFields += len(r.Fields)
				nRets++
			}
		}
		nCalls += len(task.Tree.Calls)
		nFuncs += len(pcs)
		if records != task.Summary.Records || tr[k].Records != int64(records) || tr[k].Calls != int64(len(task.Tree.Calls)) || tr[k].TaskID != task.ID {
			t.Errorf("task %d: calls hold %d records, task row %+v, trace %d", k, records, tr[k], task.Summary.Records)
		}
		if m := mr[k]; m.TaskID != task.ID || m.KernelRelease != "model" || m.Captured == nil || !m.Captured.Equal(task.Meta.Captured) ||
			m.KASLROffset == nil || *m.KASLROffset != 0 || m.Dropped == nil || *m.Dropped != *task.Meta.Dropped || m.Fill != task.Meta.Fill {
			t.Errorf("task %d: capture row %+v", k, m)
		}
	}
	nArgs = ai
	if len(cr) != nCalls || len(ar) != nArgs || len(rr) != nRets || len(fr) != nFields || len(fn) != nFuncs || len(tr) != 2 || len(mr) != 2 {
		t.Fatalf("rows: calls %d/%d args %d/%d returns %d/%d fields %d/%d functions %d/%d tasks %d captures %d",
			len(cr), nCalls, len(ar), nArgs, len(rr), nRets, len(fr), nFields, len(fn), nFuncs, len(tr), len(mr))
	}
	total := int64(0)
	for _, f := range fn {
		total += f.Calls
	}
	if total != int64(nCalls) {
		t.Errorf("functions count %d calls, want %d", total, nCalls)
	}
	t.Logf("calls %d, args %d, returns %d, fields %d, functions %d", nCalls, nArgs, nRets, nFields, nFuncs)
}

func TestFlows(t *testing.T) {
	task := simTask(t, 3, 4096)
	flows := task.Flows()
	if len(flows) == 0 {
		t.Fatal("no value flows in a simulated trace")
	}
	for _, f := range flows {
		from, to := task.Tree.Calls[f.From], task.Tree.Calls[f.To]
		if int(from.End) > int(f.To) {
			t.Fatalf("flow %+v: call %d had not returned when %d began", f, f.From, f.To)
		}
		r, _ := task.Names.Ret(task.Tree, int(f.From))
		a := task.Names.Args(task.Tree, int(f.To))[f.Arg]
		if r.Raw != f.Value || a.Raw != f.Value || f.Value <= 1 {
			t.Fatalf("flow %+v: returned %#x, passed %#x (%v → %v)", f, r.Raw, a.Raw, from.PC, to.PC)
		}
	}
	t.Logf("%d flows", len(flows))
}

var (
	bigOnce sync.Once
	bigTask *export.Task
)

// big is a full 16 M-word trace (128 MiB), as the lab kernel's largest
// buffer holds.
func big(b *testing.B) *export.Task {
	bigOnce.Do(func() { bigTask = simTask(b, 1, 1<<24) })
	return bigTask
}

func BenchmarkExportJSONL(b *testing.B) {
	task := big(b)
	b.ResetTimer()
	for b.Loop() {
		var n countWriter
		if err := export.WriteJSONL(&n, []*export.Task{task}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "bytes")
	}
	b.ReportMetric(float64(len(task.Tree.Calls)), "calls")
}

func BenchmarkExportPerfetto(b *testing.B) {
	task := big(b)
	b.ResetTimer()
	for b.Loop() {
		var n countWriter
		if err := export.WritePerfetto(&n, []*export.Task{task}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "bytes")
	}
}

func BenchmarkExportParquet(b *testing.B) {
	task := big(b)
	dir := b.TempDir()
	b.ResetTimer()
	for b.Loop() {
		if err := export.WriteParquet(dir, []*export.Task{task}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	size := int64(0)
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	b.ReportMetric(float64(size), "bytes")
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// The tasks of a follow-mode trace carry their ids: tid, tgid and comm
// in JSON Lines, tid in calls.parquet and the task's ids in tasks.parquet;
// a trace of one task has none of them.
func TestThreadColumns(t *testing.T) {
	one := simTask(t, 3, 2048)
	th := &export.Thread{Tid: 7, Tgid: 5, Ptid: 5, Comm: "worker", Exec: 1, Exited: true}
	task := simTask(t, 5, 2048)
	task.Thread, task.ID = th, export.ThreadID(one.ID, th)
	tasks := []*export.Task{one, task}
	var b bytes.Buffer
	if err := export.WriteJSONL(&b, tasks); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for line := range strings.Lines(b.String()) {
		var l export.CallLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if l.TaskID == one.ID && strings.Contains(line, `"tid"`) {
			t.Fatalf("a call of a trace of one task has a tid: %s", line)
		}
		n[fmt.Sprintf("%d %d %d %q", l.TaskID, l.Tid, l.Tgid, l.Comm)]++
	}
	want := map[string]int{fmt.Sprintf("%d 0 0 \"\"", one.ID): len(one.Tree.Calls), fmt.Sprintf("%d 7 5 \"worker\"", task.ID): len(task.Tree.Calls)}
	if fmt.Sprint(n) != fmt.Sprint(want) {
		t.Fatalf("lines by task %v, want %v", n, want)
	}
	dir := t.TempDir()
	if err := export.WriteParquet(dir, tasks); err != nil {
		t.Fatal(err)
	}
	calls, err := parquet.ReadFile[export.CallRow](filepath.Join(dir, "calls.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	tids := map[string]int{}
	for _, c := range calls {
		k := "null"
		if c.Tid != nil {
			k = fmt.Sprint(*c.Tid)
		}
		tids[k]++
	}
	if fmt.Sprint(tids) != fmt.Sprint(map[string]int{"null": len(one.Tree.Calls), "7": len(task.Tree.Calls)}) {
		t.Fatalf("calls by tid %v", tids)
	}
	rows, err := parquet.ReadFile[export.TaskRow](filepath.Join(dir, "tasks.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Tid != nil || rows[0].Comm != nil || rows[1].Tid == nil ||
		fmt.Sprintf("%v %v %v %v %v %v %v", *rows[1].Tid, *rows[1].Tgid, *rows[1].Ptid, *rows[1].Comm, *rows[1].Exec, *rows[1].Root, *rows[1].Exited) != "7 5 5 worker 1 false true" {
		t.Fatalf("tasks.parquet: %+v", rows)
	}
}
