package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/internal/golden"
)

// testdata/in/kcov.kdf is testdata/in/sim.kdf with classic kcov PCs made
// up from its call tree, and testdata/in/kcov.map a System.map of its
// functions and of one that dataflow does not trace. They were made once
// with
//
//	KCOVDF_MAKE_KCOV_INPUT=1 go test -run TestMakeKcovInput ./cmd/kcovdf
func TestMakeKcovInput(t *testing.T) {
	if os.Getenv("KCOVDF_MAKE_KCOV_INPUT") != "1" {
		t.Skip("inputs are made once")
	}
	tr, pcs, sysmap := makeKcovInput(t)
	if err := abi.SaveTrace("testdata/in/kcov.kdf", &abi.Trace{Meta: tr.Meta, Words: tr.Words, KcovPCs: pcs}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/in/kcov.map", []byte(sysmap), 0o644); err != nil {
		t.Fatal(err)
	}
}

// untracedHelper is the function of kcov.map that dataflow does not trace.
const untracedHelper = 0xffffffff82000000

func makeKcovInput(t *testing.T) (*abi.Trace, []uint64, string) {
	tr, err := abi.LoadTrace("testdata/in/sim.kdf")
	if err != nil {
		t.Fatal(err)
	}
	l, err := abi.LoadLayout("testdata/in/sim.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	table, _ := abi.TableFromLayout(l, 0)
	tree := calls.Build(tr.Words, abi.NewDecoder(tr.Words, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: tr.Meta.BufferWords}), calls.Options{Full: true})
	var b strings.Builder
	l.Addresses(func(pc uint64, fn *abi.FuncShape) { fmt.Fprintf(&b, "%016x T %s\n", pc, fn.Func) })
	fmt.Fprintf(&b, "%016x T untraced_helper\n%016x T _etext\n", uint64(untracedHelper), uint64(untracedHelper+0x1000))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	slices.Sort(lines)
	pcs := []uint64{0xffffffff80000042} // in no function
	var emit func(i int)
	emit = func(i int) {
		c := &tree.Calls[i]
		pcs = append(pcs, c.PC+0x10)
		k := 0
		tree.Children(i, func(j int) {
			emit(j)
			pcs = append(pcs, c.PC+0x20+uint64(k%3)*8)
			k++
		})
		if i%3 == 0 {
			pcs = append(pcs, untracedHelper+0x10, untracedHelper+0x28)
		}
	}
	for i := range tree.Calls {
		if tree.Calls[i].Parent < 0 {
			emit(i)
		}
	}
	return tr, pcs, strings.Join(lines, "\n") + "\n"
}

// TestKcovInputAligns: on the made-up input every PC of a traced function
// lands in the call it was made for.
func TestKcovInputAligns(t *testing.T) {
	out, _, err := runCLI(t, "stats", "--symbols", "testdata/in/kcov.map", "--layout", "testdata/in/sim.jsonl", "testdata/in/kcov.kdf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kcov alignment  ", " 0 skipped, 0 pcs mismatched, 1 in no function", "kcov functions  "} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
}

func TestFeatureSets(t *testing.T) {
	a := [][]uint64{{1, 2, 3, 9}, {1, 2, 3}}
	b := [][]uint64{{1, 2, 4}, {1, 2, 4, 9}}
	c := compareRuns(a, b)
	// 3 only in A, 4 only in B, 9 in one run of each: noise, not new.
	if c != (featureCount{A: 3, B: 3, NewB: 1, NewA: 1, Noise: 2}) || !c.Apart() {
		t.Fatalf("%+v", c)
	}
	if c := compareRuns(a, a); c.Apart() || c.NewA != 0 {
		t.Fatalf("same runs apart: %+v", c)
	}
	set, edges := pcFeatures([]uint64{10, 20, 10, 20, 99}, func(pc uint64) bool { return pc == 99 })
	if !slices.Equal(set, []uint64{10, 20}) || !slices.Equal(edges, []uint64{20>>1 ^ 10, 0>>1 ^ 10, 10>>1 ^ 20}) {
		t.Fatalf("set %v edges %v", set, edges)
	}
	if got := setMinus([]uint64{1, 2, 3, 5}, []uint64{2, 5, 7}); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("minus %v", got)
	}
}

// TestFeedbackTable: the table of a lab run (testdata/in/feedback.jsonl,
// "kcovdf lab feedback --json" on the plain lab kernel), and garbage in
// place of its rows.
func TestFeedbackTable(t *testing.T) {
	f, err := os.Open("testdata/in/feedback.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := readFeedbackJSON(f)
	if err != nil || len(rows) < 21 || rows[0].Class != "control" || rows[0].PCs.Apart() || rows[0].Dataflow.Apart() {
		t.Fatalf("%d rows, %v; first %+v", len(rows), err, rows[0])
	}
	var b strings.Builder
	if err := printFeedback(&b, rows, 3); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "feedback-table.txt", []byte(b.String()))
	for _, bad := range []string{"{", `{"pair": 3}`, "[]", "\x00\xff"} {
		if _, err := readFeedbackJSON(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "feedback row 1") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}

// TestKcovFlags: the flags that read and record classic kcov, where they
// belong.
func TestKcovFlags(t *testing.T) {
	root := newRootCommand()
	for _, c := range [][]string{{"record", "kcov"}, {"record", "kcov-words"}, {"record", "kcov-device"}, {"lab", "trace", "kcov"}, {"show", "pcs"}, {"feedback", "json"}, {"lab", "feedback", "json"}} {
		cmd, _, err := root.Find(c[:len(c)-1])
		if err != nil || cmd.Flags().Lookup(c[len(c)-1]) == nil {
			t.Errorf("kcovdf %s has no --%s (%v)", strings.Join(c[:len(c)-1], " "), c[len(c)-1], err)
		}
	}
	out, _, err := runCLI(t, "stats", "--json", "--symbols", "testdata/in/kcov.map", "--layout", "testdata/in/sim.jsonl", "testdata/in/kcov.kdf")
	if err != nil || !strings.Contains(out, `"calls_entered": 108`) {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	// A trace without kcov says nothing about it.
	out, _, err = runCLI(t, "stats", "--json", "--layout", "testdata/in/sim.jsonl", "testdata/in/sim.kdf")
	if err != nil || strings.Contains(out, `"kcov"`) {
		t.Fatalf("stats --json of a trace without kcov: %v", err)
	}
	out, _, err = runCLI(t, "show", "--pcs", "--symbols", "testdata/in/kcov.map", "--layout", "testdata/in/sim.jsonl", "testdata/in/kcov.kdf")
	if err != nil || strings.Count(out, "/* kcov ") < 100 || !strings.Contains(out, "untraced_helper+0x10?") {
		t.Fatalf("show --pcs: %v\n%.500s", err, out)
	}
}

// TestKcovDamagedSection: a cut kcov section keeps the records and the
// whole PCs, and the error says where.
func TestKcovDamagedSection(t *testing.T) {
	data, err := os.ReadFile("testdata/in/kcov.kdf")
	if err != nil {
		t.Fatal(err)
	}
	cut := t.TempDir() + "/cut.kdf"
	os.WriteFile(cut, data[:len(data)-12], 0o644)
	out, _, err := runCLI(t, "stats", "--symbols", "testdata/in/kcov.map", "--layout", "testdata/in/sim.jsonl", cut)
	if err == nil || !strings.Contains(err.Error(), "classic kcov section: cut short: 276 PCs announced, 274 present") {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(out, "records              401") || !strings.Contains(out, "kcov pcs             274 ") {
		t.Fatalf("stats of the cut file:\n%s", out)
	}
}
