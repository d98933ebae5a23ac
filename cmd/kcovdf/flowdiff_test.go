package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/golden"
)

// editedSim is testdata/in/sim.kdf with three edits, the B of diff's
// golden output: the first mm_write_39 returns -ENOENT, the second
// mm_write_39 call is gone, the third is made twice, and the first
// vfs_fill_36 gets 129 for a1. Records are renumbered; the layout stays
// sim.jsonl.
func editedSim(t *testing.T) *abi.Trace {
	t.Helper()
	in, err := abi.LoadTrace("testdata/in/sim.kdf")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	l, err := abi.LoadLayout("testdata/in/sim.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	table, errs := abi.TableFromLayout(l, 0)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d := abi.NewDecoder(in.Words, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: in.Meta.BufferWords})
	var recs []abi.Record
	for d.Next() {
		r := *d.Record()
		r.Values = append([]uint64(nil), r.Values...)
		recs = append(recs, r)
	}
	const mmWrite, vfsFill = 0xffffffff8100feb0, 0xffffffff8100f460
	// The records of each mm_write_39 call: its entries and its return.
	var calls [][2]int
	for i := 0; i < len(recs); i++ {
		if recs[i].PC == mmWrite && recs[i].Kind == abi.KindEntry && recs[i].ArgIdx == 0 {
			j := i
			for j < len(recs) && !(recs[j].PC == mmWrite && recs[j].Kind == abi.KindReturn) {
				j++
			}
			calls = append(calls, [2]int{i, j + 1})
			i = j
		}
	}
	if len(calls) < 3 {
		t.Fatalf("only %d mm_write_39 calls", len(calls))
	}
	recs[calls[0][1]-1].Values[0] = uint64(1<<64 - 2) // -ENOENT
	for i := range recs {
		if recs[i].PC == vfsFill && recs[i].ArgIdx == 1 && recs[i].Kind == abi.KindEntry {
			recs[i].Values[0] = 129
			break
		}
	}
	var out []abi.Record
	out = append(out, recs[:calls[1][0]]...)
	out = append(out, recs[calls[1][1]:calls[2][1]]...)
	out = append(out, recs[calls[2][0]:]...)
	w := []uint64{0}
	for i := range out {
		out[i].Seq = uint32(i + 1)
		w = abi.EncodeV1(w, &out[i])
	}
	w[0] = uint64(len(w) - 1)
	meta := in.Meta
	meta.BufferWords, meta.Fill, meta.Command = len(w), w[0], []string{"sim.kdf", "edited"}
	return &abi.Trace{Meta: meta, Words: w}
}

// TestEditedSimInput: testdata/in/sim-edited.kdf is what editedSim makes
// (written once when missing, never rewritten).
func TestEditedSimInput(t *testing.T) {
	const path = "testdata/in/sim-edited.kdf"
	want := editedSim(t)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		if err := abi.SaveTrace(path, want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := abi.LoadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if !bytes.Equal(wordBytes(got.Words), wordBytes(want.Words)) {
		t.Fatalf("%s is not the edited sim.kdf", path)
	}
}

func TestGoldenFlowDiff(t *testing.T) {
	const (
		a      = "testdata/in/sim.kdf"
		b      = "testdata/in/sim-edited.kdf"
		layout = "testdata/in/sim.jsonl"
	)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"flow", []string{"flow", "--layout", layout, a, "0xf0000003"}},
		{"flow-json", []string{"flow", "--json", "--layout", layout, a, "0xf0000003"}},
		{"flow-errno", []string{"flow", "--layout", layout, b, "-ENOENT"}},
		{"flow-dash", []string{"flow", "--layout", layout, b, "--", "-0x2"}},
		{"flow-small", []string{"flow", "--layout", layout, "--small", a, "0"}},
		{"diff", []string{"diff", "--layout", layout, a, b}},
		{"diff-json", []string{"diff", "--json", "--layout", layout, a, b}},
		{"diff-same", []string{"diff", "--layout", layout, a, a}},
		{"diff-skip", []string{"diff", "--top", "1", "--skip", "^mm_write_39$", "--layout", layout, a, b}},
	} {
		t.Run(c.name, func(t *testing.T) {
			golden.Check(t, c.name+".txt", transcript(t, "", c.args...))
		})
	}
}

// TestFlowDiffErrors: bad input gets a clear error; diff's trouble is
// status 2, as diff(1)'s.
func TestFlowDiffErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.kdf")
	os.WriteFile(garbage, append(bytes.Repeat([]byte("not a trace "), 100), '!'), 0o644)
	var all bytes.Buffer
	for _, args := range [][]string{
		{"flow"},
		{"flow", "testdata/in/sim.kdf"},
		{"flow", "testdata/in/sim.kdf", "twelve"},
		{"flow", "testdata/in/sim.kdf", "3", "--json"},
		{"flow", "-ENOENT"},
		{"flow", "testdata/in/sim.kdf", "--", "-ENOSUCH"},
		{"flow", "testdata/in/sim.kdf", "0x10000000000000000"},
		{"flow", filepath.Join(dir, "missing.kdf"), "3"},
		{"diff"},
		{"diff", "testdata/in/sim.kdf"},
		{"diff", "--nosuch", "a", "b"},
		{"diff", "testdata/in/sim.kdf", filepath.Join(dir, "missing.kdf")},
		{"diff", "--top", "-1", "testdata/in/sim.kdf", "testdata/in/sim.kdf"},
		{"diff", "--skip", "(", "testdata/in/sim.kdf", "testdata/in/sim.kdf"},
	} {
		all.Write(transcript(t, dir, args...))
		all.WriteByte('\n')
	}
	golden.Check(t, "flow-diff-errors.txt", all.Bytes())
	// Garbage is decoded as best it can be, never a panic; a damaged
	// file is trouble for diff (2) and an error for flow (1), after the
	// part before the damage was read.
	out := string(transcript(t, dir, "diff", garbage, garbage))
	if !strings.Contains(out, "exit status 2") || !strings.Contains(out, "whole word") {
		t.Fatalf("diff of garbage:\n%s", out)
	}
	out = string(transcript(t, dir, "flow", garbage, "12345"))
	if !strings.Contains(out, "exit status 1") || !strings.Contains(out, "value 12345 = 0x3039: 0 matches") {
		t.Fatalf("flow of garbage:\n%s", out)
	}
}

// TestLabFlowDiff reads two real lab traces, KCOVDF_TRACE of
// `cat /etc/passwd` and KCOVDF_TRACE_NOENT of `cat /nonexistent`, with
// their kernel's KCOVDF_VMLINUX: flow finds where the -ENOENT came from and
// went, and diff ranks the failed open first.
func TestLabFlowDiff(t *testing.T) {
	a, b, vmlinux := os.Getenv("KCOVDF_TRACE"), os.Getenv("KCOVDF_TRACE_NOENT"), os.Getenv("KCOVDF_VMLINUX")
	if a == "" || b == "" || vmlinux == "" {
		t.Skip("KCOVDF_TRACE, KCOVDF_TRACE_NOENT and KCOVDF_VMLINUX (lab traces of cat /etc/passwd and cat /nonexistent, and their kernel) not set")
	}
	out, _, err := runCLI(t, "flow", "--symbols", vmlinux, b, "-ENOENT")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"          step_into: ret = ERR_PTR(-ENOENT)  [exact, seq ",
		"    do_sys_openat2: ret = -ENOENT  [exact, seq ",
		"\n__x64_sys_openat: ret = -ENOENT  [exact, seq ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("flow lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, "diff", "--top", "3", "--symbols", vmlinux, a, b)
	if code, ok := err.(exitCodeError); !ok || code.code != 1 {
		t.Fatalf("diff: %v, want status 1", err)
	}
	if !strings.Contains(out, "1. errno  __x64_sys_openat  [") || !strings.Contains(out, "     ret: 3 -> -ENOENT\n2. errno  __x64_sys_openat > do_sys_open  [") {
		t.Fatalf("diff does not rank the failed open first:\n%s", out)
	}
	if _, _, err := runCLI(t, "diff", "--symbols", vmlinux, a, a); err != nil {
		t.Fatalf("a trace differs from itself: %v", err)
	}
}
