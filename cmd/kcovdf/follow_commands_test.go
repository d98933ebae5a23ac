package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/query"
	"github.com/parquet-go/parquet-go"
	"google.golang.org/protobuf/encoding/protowire"
)

// The commands besides stats, show and decode on a follow-mode trace
// (testdata/in/follow.kdf: a shell 1, its child 2 that execs "worker",
// the child's threads 3 and 4).

const (
	followIn     = "testdata/in/follow.kdf"
	followLayout = "testdata/in/follow.jsonl"
)

// followParts is the trace's tasks as the commands cut them: tid and
// program, with the calls of each.
func followParts(t *testing.T) (keys []string, callsOf map[string]int) {
	t.Helper()
	var in inputFlags
	in.layout = followLayout
	nt, err := in.buildTree(followIn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer nt.src.trace.Close()
	callsOf = map[string]int{}
	for _, p := range nt.parts {
		k := fmt.Sprintf("%d/%d", p.task.Tid, p.seg)
		keys = append(keys, k)
		callsOf[k] = len(p.tree.Calls)
	}
	return keys, callsOf
}

func TestFollowParts(t *testing.T) {
	keys, callsOf := followParts(t)
	if strings.Join(keys, " ") != "1/0 2/0 2/1 3/0 4/0" {
		t.Fatalf("parts %v", keys)
	}
	// As show prints them (golden follow-show.txt).
	if fmt.Sprint(callsOf) != "map[1/0:19 2/0:4 2/1:6 3/0:4 4/0:10]" {
		t.Fatalf("calls %v", callsOf)
	}
}

func TestFollowSignal(t *testing.T) {
	out, _, err := runCLI(t, "signal", "--json", "--layout", followLayout, followIn)
	if err != nil {
		t.Fatal(err)
	}
	var res signalJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	tr := res.Traces[0]
	var got []string
	sum := 0
	for _, k := range tr.Tasks {
		got = append(got, fmt.Sprintf("%d:%d", k.Tid, k.Records))
		sum += k.Records
		if k.Features == 0 || k.Features > tr.Features {
			t.Errorf("task %d: %d features of the trace's %d", k.Tid, k.Features, tr.Features)
		}
	}
	// The records of each task as stats counts them.
	if strings.Join(got, " ") != "1:46 2:24 3:15 4:27" || sum != tr.Records || tr.Records != 112 {
		t.Fatalf("tasks %v, %d records", got, tr.Records)
	}
	// --task: the features of that task alone, as the trace's.
	out, _, err = runCLI(t, "signal", "--json", "--task", "3", "--layout", followLayout, followIn)
	if err != nil {
		t.Fatal(err)
	}
	var one signalJSON
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatal(err)
	}
	if k := one.Traces[0]; len(k.Tasks) != 1 || k.Records != 15 || k.Features != tr.Tasks[2].Features {
		t.Fatalf("--task 3: %+v, want the features of task 3 in the whole trace's run (%d)", k, tr.Tasks[2].Features)
	}
}

func TestFollowHintsTasks(t *testing.T) {
	out, _, err := runCLI(t, "hints", "--task", "worker", "--layout", followLayout, followIn, followIn)
	if err != nil {
		t.Fatal(err)
	}
	var res hintsJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range res.Tasks {
		got = append(got, fmt.Sprintf("%d:%d", k.Tid, k.Records))
	}
	// "worker" names task 2 (after its exec) and its threads; the same
	// trace twice: every value is stable.
	if strings.Join(got, " ") != "2:24 3:15 4:27 2:24 3:15 4:27" || res.Flaky != 0 || res.Stable == 0 {
		t.Fatalf("tasks %v, %d stable, %d flaky", got, res.Stable, res.Flaky)
	}
}

func TestFollowExportJSONL(t *testing.T) {
	out, _, err := runCLI(t, "export", "--format", "jsonl", "-o", "-", "--layout", followLayout, followIn)
	if err != nil {
		t.Fatal(err)
	}
	_, callsOf := followParts(t)
	got := map[string]int{}
	ids := map[int64]string{}
	for line := range strings.Lines(out) {
		var l export.CallLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		got[fmt.Sprintf("%d %d %s", l.Tid, l.Tgid, l.Comm)]++
		ids[l.TaskID] = l.Comm
	}
	want := map[string]int{"1 1 sh": callsOf["1/0"], "2 2 sh": callsOf["2/0"], "2 2 worker": callsOf["2/1"], "3 2 worker": callsOf["3/0"], "4 2 worker": callsOf["4/0"]}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(ids) != 5 {
		t.Fatalf("calls by task %v, want %v; %d task IDs", got, want, len(ids))
	}
}

func TestFollowExportParquet(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runCLI(t, "export", "--format", "parquet", "-o", dir, "--layout", followLayout, followIn); err != nil {
		t.Fatal(err)
	}
	tasks, err := parquet.ReadFile[export.TaskRow](filepath.Join(dir, "tasks.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tasks {
		got = append(got, fmt.Sprintf("%d/%d %s of %d by %d root=%v exited=%v: %d calls", *r.Tid, *r.Exec, *r.Comm, *r.Tgid, *r.Ptid, *r.Root, *r.Exited, r.Calls))
	}
	want := []string{
		"1/0 sh of 1 by 0 root=true exited=false: 19 calls",
		"2/0 sh of 2 by 1 root=false exited=true: 4 calls",
		"2/1 worker of 2 by 1 root=false exited=true: 6 calls",
		"3/0 worker of 2 by 2 root=false exited=true: 4 calls",
		"4/0 worker of 2 by 2 root=false exited=true: 10 calls",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("tasks.parquet:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	calls, err := parquet.ReadFile[export.CallRow](filepath.Join(dir, "calls.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	byTid := map[int32]int{}
	for _, c := range calls {
		byTid[*c.Tid]++
	}
	if fmt.Sprint(byTid) != "map[1:19 2:10 3:4 4:10]" {
		t.Fatalf("calls by tid %v", byTid)
	}
	caps, err := parquet.ReadFile[export.CaptureRow](filepath.Join(dir, "captures.parquet"))
	if err != nil || len(caps) != 5 {
		t.Fatalf("%d capture rows (one per task ID), %v", len(caps), err)
	}
}

// protoFields walks the fields of one protobuf message: each with its
// bytes (length-delimited) or its number (varint).
func protoFields(t *testing.T, b []byte, each func(num protowire.Number, v []byte, n uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			t.Fatalf("perfetto: bad tag: %v", protowire.ParseError(k))
		}
		b = b[k:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.BytesType:
			v, k = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			n, k = protowire.ConsumeVarint(b)
		default:
			k = protowire.ConsumeFieldValue(num, typ, b)
		}
		if k < 0 {
			t.Fatalf("perfetto: field %d: %v", num, protowire.ParseError(k))
		}
		b = b[k:]
		each(num, v, n)
	}
}

// perfettoThreads decodes a Perfetto trace's process and thread tracks
// and counts the slices on each track.
func perfettoThreads(t *testing.T, b []byte) (tracks []string, slices map[string]int) {
	t.Helper()
	fields := func(b []byte, each func(num protowire.Number, v []byte, n uint64)) { protoFields(t, b, each) }
	name := map[uint64]string{}
	slices = map[string]int{}
	fields(b, func(_ protowire.Number, packet []byte, _ uint64) {
		fields(packet, func(num protowire.Number, v []byte, _ uint64) {
			switch num {
			case 60: // track_descriptor
				var uuid, parent uint64
				var desc string
				fields(v, func(num protowire.Number, v []byte, n uint64) {
					switch num {
					case 1:
						uuid = n
					case 5:
						parent = n
					case 2:
						desc = string(v)
					case 3, 4: // process, thread
						var ids []string
						var nm string
						fields(v, func(f protowire.Number, v []byte, n uint64) {
							if f <= 2 {
								ids = append(ids, fmt.Sprint(n))
							} else {
								nm = string(v)
							}
						})
						desc = map[protowire.Number]string{3: "process ", 4: "thread "}[num] + strings.Join(ids, "/") + " " + nm
					}
				})
				if parent != 0 {
					desc += " under " + name[parent]
				}
				name[uuid] = desc
				tracks = append(tracks, desc)
			case 11: // track_event
				var typ, track uint64
				fields(v, func(num protowire.Number, _ []byte, n uint64) {
					switch num {
					case 9:
						typ = n
					case 11:
						track = n
					}
				})
				if typ == 1 {
					slices[name[track]]++
				}
			}
		})
	})
	return tracks, slices
}

func TestFollowExportPerfetto(t *testing.T) {
	out := filepath.Join(t.TempDir(), "f.pftrace")
	if _, _, err := runCLI(t, "export", "--format", "perfetto", "-o", out, "--layout", followLayout, followIn); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	tracks, slices := perfettoThreads(t, b)
	want := []string{
		"process 1 sh", "thread 1/1 sh",
		"process 2 worker", "thread 2/2 sh", "worker after execve 1 under thread 2/2 sh",
		"thread 2/3 worker", "thread 2/4 worker",
	}
	if strings.Join(tracks, "; ") != strings.Join(want, "; ") {
		t.Fatalf("tracks %q\nwant %q", tracks, want)
	}
	_, callsOf := followParts(t)
	wantSlices := map[string]int{"thread 1/1 sh": callsOf["1/0"], "thread 2/2 sh": callsOf["2/0"], "worker after execve 1 under thread 2/2 sh": callsOf["2/1"],
		"thread 2/3 worker": callsOf["3/0"], "thread 2/4 worker": callsOf["4/0"]}
	if fmt.Sprint(slices) != fmt.Sprint(wantSlices) {
		t.Fatalf("slices per track %v, want %v", slices, wantSlices)
	}
}

func TestFollowExportHTML(t *testing.T) {
	out, _, err := runCLI(t, "export", "--format", "html", "-o", "-", "--task", "4", "--layout", followLayout, followIn)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"follow.kdf task 4 (worker) process 2"`, `"thread":{"tid":4,"pid":2,"ppid":2,"comm":"worker","exec":0}`} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %s", want)
		}
	}
	if strings.Count(out, `"thread":{`) != 1 {
		t.Errorf("--task 4: %d tasks in the report", strings.Count(out, `"thread":{`))
	}
}

func TestFollowFlow(t *testing.T) {
	out, _, err := runCLI(t, "flow", "--json", "--small", "--layout", followLayout, followIn, "0")
	if err != nil {
		t.Fatal(err)
	}
	byTid, byProgram := map[int]int{}, map[string]int{}
	for line := range strings.Lines(out) {
		var m struct{ Tid, Exec int }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		byTid[m.Tid]++
		byProgram[fmt.Sprintf("%d/%d", m.Tid, m.Exec)]++
	}
	// Task 2's matches ran after its execve: their calls index that tree.
	if fmt.Sprint(byTid) != "map[1:1 2:2 3:5]" || fmt.Sprint(byProgram) != "map[1/0:1 2/1:2 3/0:5]" {
		t.Fatalf("matches of 0 by tid: %v, by tid/program: %v", byTid, byProgram)
	}
	// --task: that task's matches alone.
	out, _, err = runCLI(t, "flow", "--json", "--small", "--task", "3", "--layout", followLayout, followIn, "0")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n != byTid[3] || strings.Count(out, `"tid":3,`) != n {
		t.Fatalf("--task 3: %d matches, want %d:\n%s", n, byTid[3], out)
	}
}

func TestFollowDiff(t *testing.T) {
	// A follow-mode trace against itself: every task paired, equal.
	out, _, err := runCLI(t, "diff", "--json", "--layout", followLayout, followIn, followIn)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Equal bool
		Tasks []struct {
			A, B    string
			Aligned int
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	_, callsOf := followParts(t)
	var got []string
	for _, k := range res.Tasks {
		got = append(got, fmt.Sprintf("%s=%d", strings.TrimPrefix(k.A, followIn+" "), k.Aligned))
		if strings.TrimPrefix(k.A, followIn) != strings.TrimPrefix(k.B, followIn) {
			t.Errorf("%s paired with %s", k.A, k.B)
		}
	}
	want := fmt.Sprintf("task 1 (sh)=%d task 2 (sh)=%d task 2 (worker, after execve 1)=%d task 3 (worker)=%d task 4 (worker)=%d",
		callsOf["1/0"], callsOf["2/0"], callsOf["2/1"], callsOf["3/0"], callsOf["4/0"])
	if !res.Equal || strings.Join(got, " ") != want {
		t.Fatalf("equal %v, tasks %s\nwant %s", res.Equal, strings.Join(got, " "), want)
	}
}

// Tasks pair by their place in the process tree, whatever their tids.
func TestTaskKeys(t *testing.T) {
	task := func(tid, tgid, ptid int, names ...string) *abi.TaskStream {
		ts := &abi.TaskStream{Tid: tid, Tgid: tgid, Ptid: ptid, Comm: names[len(names)-1]}
		for _, n := range names {
			ts.Chunks = append(ts.Chunks, abi.Chunk{Comm: n})
		}
		return ts
	}
	keys := func(tasks ...*abi.TaskStream) string {
		k := taskKeys(tasks)
		var out []string
		for _, ts := range tasks {
			out = append(out, fmt.Sprintf("%d=%s", ts.Tid, k[ts]))
		}
		return strings.Join(out, " ")
	}
	// Run A: sh forks two children that exec cc and ld, cc has a thread.
	a := keys(task(10, 10, 1, "sh"), task(11, 11, 10, "sh", "cc"), task(12, 12, 10, "sh", "ld"), task(13, 11, 11, "cc"))
	// Run B: other tids, the streams in another order, a grandchild
	// whose parent never recorded.
	b := keys(task(52, 52, 50, "sh", "ld"), task(50, 50, 1, "sh"), task(53, 51, 51, "cc"), task(51, 51, 50, "sh", "cc"), task(60, 60, 99, "make"))
	if a != "10=sh#0 11=sh#0/sh#0 12=sh#0/sh#1 13=sh#0/sh#0/cc#0" {
		t.Fatalf("A: %s", a)
	}
	if b != "52=sh#0/sh#1 50=sh#0 53=sh#0/sh#0/cc#0 51=sh#0/sh#0 60=make#0" {
		t.Fatalf("B: %s", b)
	}
	// Parents that name each other: a key all the same.
	if k := keys(task(5, 5, 6, "x"), task(6, 6, 5, "y")); k == "" {
		t.Fatal("no keys")
	}
}

// --redact on a follow-mode trace: one key for the trace's tasks, no
// kernel address left in any form, the tids kept. Each command's output
// without --redact must hold kernel addresses, so that the check can fail.
func TestFollowRedact(t *testing.T) {
	addrs := kernelAddresses(t, followIn, []string{"--layout", followLayout})
	for _, args := range [][]string{
		{"export", "--format", "jsonl", "-o", "-", "--layout", followLayout, followIn},
		// A struct field of task 1 that holds a kernel pointer.
		{"flow", "--layout", followLayout, followIn, "0xffff88800465bc90"},
		{"diff", "--addresses", "--layout", followLayout, followIn, "testdata/in/follow-full.kdf"},
	} {
		// diff exits with status 1 when the traces differ, as diff(1).
		plain, _, err := runCLI(t, args...)
		if err != nil && args[0] != "diff" {
			t.Fatalf("%s: %v", args[0], err)
		}
		if len(leaks([]byte(plain), addrs, 0)) == 0 {
			t.Fatalf("%s without --redact shows no kernel address: the case tests nothing", args[0])
		}
		out, _, err := runCLI(t, append([]string{args[0], "--redact"}, args[1:]...)...)
		if err != nil && args[0] != "diff" {
			t.Fatalf("%s --redact: %v", args[0], err)
		}
		if l := leaks([]byte(out), addrs, 0); len(l) > 0 || !strings.Contains(out, "kptr_") {
			t.Errorf("%s --redact: leaks %q, or no token:\n%s", args[0], l, out)
		}
		if args[0] == "export" && strings.Count(out, `"tid":`) != strings.Count(out, "\n") {
			t.Error("export --redact of a follow-mode trace lost the tids")
		}
		if args[0] != "export" && !strings.Contains(out, "task ") {
			t.Errorf("%s --redact: no task header:\n%s", args[0], out)
		}
	}
}

func TestFollowTaskErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--format", "jsonl", "-o", "-", "--task", "9", followIn}, "--task 9: no such task in testdata/in/follow.kdf; it has 1 (sh), 2 (worker), 3 (worker), 4 (worker)"},
		{[]string{"signal", "--task", "1", "testdata/in/sim.kdf"}, "--task 1: testdata/in/sim.kdf holds one task's records, not a follow-mode capture"},
		{[]string{"diff", "--task", "1", "testdata/in/sim.kdf", "testdata/in/sim.kdf"}, "hold one task each"},
		{[]string{"diff", "--task", "worker", "testdata/in/sim.kdf", followIn}, "--task worker names 3 tasks of testdata/in/follow.kdf (2, 3, 4)"},
	} {
		_, stderr, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error()+stderr, c.want) {
			t.Errorf("%v: %v %s, want %q", c.args, err, stderr, c.want)
		}
	}
}

// query reads the tasks of a follow-mode trace through the export's
// tables, with those of a trace of one task beside them.
func TestFollowQuery(t *testing.T) {
	if !query.Available {
		t.Skip("a build without cgo has no DuckDB")
	}
	out, _, err := runCLI(t, "query", "SELECT tid, comm, exec, calls, (SELECT count(*) FROM calls c WHERE c.task_id = t.task_id AND c.tid IS NOT DISTINCT FROM t.tid) AS n FROM tasks t ORDER BY tid NULLS FIRST, exec",
		"--layout", followLayout, followIn, "testdata/in/sim.kdf")
	if err != nil {
		t.Fatal(err)
	}
	want := `tid   comm    exec  calls  n
NULL  NULL    NULL  108    108
1     sh      0     19     19
2     sh      0     4      4
2     worker  1     6      6
3     worker  0     4      4
4     worker  0     10     10
`
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

// BenchmarkLoadTasks: what export, query and the report read before they
// write: a full 4 M-word buffer opened, decoded and built into call
// trees, as one task (v1) and as the four tasks of a follow-mode trace,
// cut into their programs.
func BenchmarkLoadTasks(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name string
		sim  []string
	}{
		{"v1", []string{"sim", "--words", "4194304", "--seed", "5"}},
		{"follow", []string{"sim", "--follow", "--calls", "0", "--seed", "5"}},
	} {
		trace, layout := filepath.Join(dir, c.name+".kdf"), filepath.Join(dir, c.name+".jsonl")
		cmd := newRootCommand()
		cmd.SetArgs(append(c.sim, "-o", trace, "--layout-out", layout))
		cmd.SetOut(io.Discard)
		if err := cmd.Execute(); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			calls := 0
			for b.Loop() {
				in := inputFlags{format: "auto", layout: layout}
				tasks, done, err := in.loadTasks([]string{trace}, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				calls = 0
				for _, t := range tasks {
					calls += len(t.Tree.Calls)
				}
				done()
			}
			b.ReportMetric(float64(calls), "calls")
		})
	}
}
