package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
)

// FuzzFollowOutput: whatever a follow-mode area holds, the per-task
// output (summaries, exec segments, call trees, the process tree) is
// built without a panic, and every record lands in exactly one segment.
func FuzzFollowOutput(f *testing.F) {
	in, err := abi.LoadTrace("testdata/in/follow.kdf")
	if err != nil {
		f.Fatal(err)
	}
	seed := make([]byte, 8*len(in.Words))
	for i, w := range in.Words {
		binary.LittleEndian.PutUint64(seed[8*i:], w)
	}
	in.Close()
	f.Add(seed, uint8(7))
	f.Add(seed[:5800], uint8(7))
	f.Add(make([]byte, 8*129), uint8(6))
	f.Fuzz(func(t *testing.T, b []byte, shift uint8) {
		area := make([]uint64, len(b)/8)
		for i := range area {
			area[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		ft, err := abi.DecodeFollowChunks(area, 1<<(shift%21), abi.Options{})
		if err != nil {
			return
		}
		fl := &followed{ft: ft, tasks: ft.Tasks}
		for _, ts := range fl.tasks {
			n := 0
			for _, seg := range execSegments(ts) {
				n += len(seg.records)
				calls.BuildRecords(area, seg.records, fl.summary(ts), calls.Options{Markers: true})
			}
			if n != len(ts.Records) {
				t.Fatalf("task %d: %d records in its exec segments, %d in its stream", ts.Tid, n, len(ts.Records))
			}
			if !strings.Contains(taskHeader(ts), taskNames(ts)) {
				t.Fatalf("header %q lacks the names %q", taskHeader(ts), taskNames(ts))
			}
		}
		// The parts the other commands build calls from: every record
		// in one, each built, each labelled, and every task keyed for diff.
		n := 0
		for _, p := range fl.parts() {
			n += len(p.records)
			p.build(fl, area, false)
			if p.label() == "" {
				t.Fatal("a part without a label")
			}
		}
		total := 0
		for _, ts := range fl.tasks {
			total += len(ts.Records)
		}
		if n != total {
			t.Fatalf("%d records in the parts, %d in the streams", n, total)
		}
		if keys := taskKeys(fl.tasks); len(keys) != len(fl.tasks) {
			t.Fatalf("%d keys for %d tasks", len(keys), len(fl.tasks))
		}
		var tree bytes.Buffer
		writeProcessTree(&tree, fl.tasks)
		if lines := strings.Count(tree.String(), "\n"); lines != len(fl.tasks) {
			t.Fatalf("process tree of %d lines for %d tasks:\n%s", lines, len(fl.tasks), tree.String())
		}
		fl.scan()
		printAnomalies(io.Discard, fl.anomalies(), 10)
	})
}

// Every task is in the process tree once, even when parents name each
// other or a tid comes back as a new stream.
func TestProcessTreeDamaged(t *testing.T) {
	tasks := []*abi.TaskStream{{Tid: 5, Tgid: 5, Ptid: 6}, {Tid: 6, Tgid: 6, Ptid: 5}, {Tid: 7, Tgid: 7, Ptid: 1}, {Tid: 7, Tgid: 7, Ptid: 1}}
	var b bytes.Buffer
	writeProcessTree(&b, tasks)
	want := "7  (process), 0 records\n7  (process), 0 records\n5  (process), 0 records\n  6  (process), 0 records\n" // no chunks: no name
	if b.String() != want {
		t.Fatalf("got\n%swant\n%s", b.String(), want)
	}
}
