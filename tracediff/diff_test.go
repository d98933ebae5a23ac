package tracediff

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/internal/calltest"
)

// show renders an alignment as "a=b", "a-" (only in a), "+b" (only in b).
func show(a, b []int32, ps []pair) string {
	var out []string
	for _, p := range ps {
		switch {
		case p.a >= 0 && p.b >= 0:
			out = append(out, fmt.Sprintf("%d=%d", a[p.a], b[p.b]))
		case p.a >= 0:
			out = append(out, fmt.Sprintf("%d-", a[p.a]))
		default:
			out = append(out, fmt.Sprintf("+%d", b[p.b]))
		}
	}
	return strings.Join(out, " ")
}

func TestAlign(t *testing.T) {
	for _, c := range []struct {
		a, b []int32
		want string
	}{
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, "1=1 2=2 3=3"},
		// An inserted call shifts nothing after it.
		{[]int32{1, 2, 3, 4}, []int32{1, 2, 9, 3, 4}, "1=1 2=2 +9 3=3 4=4"},
		// A deleted one neither.
		{[]int32{1, 2, 3, 4}, []int32{1, 3, 4}, "1=1 2- 3=3 4=4"},
		// A call replaced by another: one out, one in.
		{[]int32{1, 2, 3}, []int32{1, 7, 3}, "1=1 2- +7 3=3"},
		// Repeated names: the longest common subsequence.
		{[]int32{5, 5, 6, 5}, []int32{5, 6, 5, 5}, "5=5 5- 6=6 +5 5=5"},
		{nil, []int32{1, 2}, "+1 +2"},
		{[]int32{1, 2}, nil, "1- 2-"},
		{[]int32{1, 2, 3, 4, 5, 6}, []int32{6, 5, 4, 3, 2, 1}, ""},
	} {
		ps, exact := align(c.a, c.b, 100)
		got := show(c.a, c.b, ps)
		if c.want != "" && got != c.want || !exact {
			t.Errorf("align(%v, %v) = %s (exact %v), want %s", c.a, c.b, got, exact, c.want)
		}
		checkAlignment(t, c.a, c.b, ps)
	}
	// Past the edit budget: greedy, still a valid alignment.
	a, b := make([]int32, 500), make([]int32, 500)
	for i := range a {
		a[i], b[i] = int32(i), int32(1000+i)
	}
	b[250] = 250
	ps, exact := align(a, b, 10)
	if exact {
		t.Error("500 edits within a budget of 10")
	}
	checkAlignment(t, a, b, ps)
}

// checkAlignment: every element once, in order, matched ones equal.
func checkAlignment(t *testing.T, a, b []int32, ps []pair) {
	t.Helper()
	ia, ib := 0, 0
	for _, p := range ps {
		if p.a >= 0 {
			if int(p.a) != ia {
				t.Fatalf("a out of order at %v: %v", p, ps)
			}
			ia++
		}
		if p.b >= 0 {
			if int(p.b) != ib {
				t.Fatalf("b out of order at %v: %v", p, ps)
			}
			ib++
		}
		if p.a >= 0 && p.b >= 0 && a[p.a] != b[p.b] {
			t.Fatalf("matched %d with %d", a[p.a], b[p.b])
		}
		if p.a < 0 && p.b < 0 {
			t.Fatal("an empty pair")
		}
	}
	if ia != len(a) || ib != len(b) {
		t.Fatalf("covers %d of %d and %d of %d", ia, len(a), ib, len(b))
	}
}

// layout names and types the functions of the traces below.
const layout = `{"func":"sys_call","pc":"0xffffffff81000100","args":[{"idx":0,"size":4,"name":"nr","type":"int","fields":[]}],"ret":{"size":4,"type":"long","fields":[]}}
{"func":"do_open","pc":"0xffffffff81000200","args":[{"idx":0,"size":4,"name":"dfd","type":"int","fields":[]},{"idx":1,"size":8,"name":"how","type":"struct open_how *","struct":"open_how","fields":[{"name":"flags","off":0,"size":8},{"name":"mode","off":8,"size":8}]}],"ret":{"size":4,"type":"int","fields":[]}}
{"func":"lookup","pc":"0xffffffff81000300","args":[{"idx":0,"size":4,"name":"dfd","type":"int","fields":[]}],"ret":{"size":4,"type":"int","fields":[]}}
{"func":"do_read","pc":"0xffffffff81000400","args":[{"idx":0,"size":4,"name":"fd","type":"int","fields":[]},{"idx":1,"size":8,"name":"count","type":"size_t","fields":[]}],"ret":{"size":8,"type":"ssize_t","fields":[]}}
{"func":"log_error","pc":"0xffffffff81000500","args":[{"idx":0,"size":4,"name":"level","type":"int","fields":[]}],"ret":{"size":4,"type":"int","fields":[]}}
`

func namer(t testing.TB) *calls.Namer {
	l, err := abi.ReadLayout(strings.NewReader(layout), "test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := debuginfo.Layouts(nil, debuginfo.PluginLayout{Layout: l, Label: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &calls.Namer{Layout: b}
}

func task(label string, recs ...abi.Record) Task {
	return Task{Label: label, Tree: calltest.Build(calltest.Area(recs...)), Namer: namerOnce}
}

var namerOnce *calls.Namer

func TestMain(m *testing.M) {
	namerOnce = namer(&testing.T{})
	os.Exit(m.Run())
}

const (
	sys  = 0xffffffff81000100 // the system call
	open = 0xffffffff81000200
	look = 0xffffffff81000300
	read = 0xffffffff81000400
	log  = 0xffffffff81000500
)

var e, r, pe = calltest.Entry, calltest.Return, calltest.PtrEntry

// passing: sys(1) { open(7) { look(7) = 0 } = 3; read(3, 4096) = 4096; read(3, 4096) = 0 } = 0
// failing: look fails with -ENOENT, open returns it, no reads, a log call
// is made, and the struct behind open's second argument lives elsewhere.
func traces() (Task, Task) {
	return passing("pass", 4096), task("fail",
		e(sys, 0, 4, 1),
		e(open, 0, 4, 7), pe(open, 1, 0xffff888000002000, 5, 6),
		e(look, 0, 4, 7), r(look, 4, 0xfffffffe),
		r(open, 4, 0xfffffffe),
		e(log, 0, 4, 2), r(log, 4, 0),
		r(sys, 4, 0xfffffffe),
	)
}

// passing is the passing run, its first read asking for count bytes.
func passing(label string, count uint64) Task {
	return task(label,
		e(sys, 0, 4, 1),
		e(open, 0, 4, 7), pe(open, 1, 0xffff888000001000, 5, 6),
		e(look, 0, 4, 7), r(look, 4, 0),
		r(open, 4, 3),
		e(read, 0, 4, 3), e(read, 1, 8, count), r(read, 8, 4096),
		e(read, 0, 4, 3), e(read, 1, 8, 4096), r(read, 8, 0),
		r(sys, 4, 0),
	)
}

func TestCompare(t *testing.T) {
	a, b := traces()
	res := Compare([]Task{a}, []Task{b}, Options{})
	if res.Equal || len(res.Tasks) != 1 {
		t.Fatalf("%+v", res)
	}
	tr := res.Tasks[0]
	if tr.Aligned != 3 || tr.OnlyA != 2 || tr.OnlyB != 1 || tr.Differing != 3 || tr.DivergenceCount != 1 {
		t.Fatalf("aligned %d, only A %d, only B %d, differing %d, divergences %d", tr.Aligned, tr.OnlyA, tr.OnlyB, tr.Differing, tr.DivergenceCount)
	}
	dv := tr.Divergences[0]
	if len(dv.Path) != 1 || dv.After == nil || dv.After.Index != 1 || dv.CountA != 2 || dv.CountB != 1 || dv.OnlyB[0].Index != 3 {
		t.Fatalf("divergence %+v", dv)
	}
	// Errnos first, nearest the system call first: sys, open, look.
	var got []string
	for _, d := range tr.Differences {
		got = append(got, fmt.Sprintf("%s@%d:%d", d.Kind, d.Depth, len(d.Values)))
	}
	if strings.Join(got, " ") != "errno@0:1 errno@1:1 errno@2:1" {
		t.Fatalf("differences %v", got)
	}
	// The lookup's is where the error started.
	if tr.Differences[0].Origin || tr.Differences[1].Origin || !tr.Differences[2].Origin {
		t.Fatalf("origins: %+v", tr.Differences)
	}
	if v := tr.Differences[1].Values[0]; v.Name != "ret" || v.A != "3" || v.B != "-ENOENT" {
		t.Fatalf("open's return: %+v", v)
	}
	// The moved struct is a difference only when addresses count.
	res = Compare([]Task{a}, []Task{b}, Options{Addresses: true})
	if d := res.Tasks[0].Differences[1]; len(d.Values) != 2 || d.Values[0] != (ValueDiff{Name: "how", A: "0xffff888000001000", B: "0xffff888000002000"}) {
		t.Fatalf("with addresses, open: %+v", d)
	}
	// A trace equals itself; an argument changed is an args difference.
	if res := Compare([]Task{a}, []Task{a}, Options{}); !res.Equal || res.Tasks[0].Aligned != 5 {
		t.Fatalf("self: %+v", res.Tasks[0])
	}
	c := passing("changed", 512)
	res = Compare([]Task{a}, []Task{c}, Options{})
	tr = res.Tasks[0]
	if res.Equal || tr.Differing != 1 || tr.OnlyA+tr.OnlyB != 0 || tr.Differences[0].Kind != KindArgs ||
		tr.Differences[0].Values[0] != (ValueDiff{Name: "count", A: "4096", B: "512"}) {
		t.Fatalf("changed argument: %+v", tr)
	}
	// Skipping a function leaves its calls out of the alignment.
	res = Compare([]Task{a}, []Task{b}, Options{Skip: func(name string) bool { return name == "log_error" || name == "do_read" }})
	tr = res.Tasks[0]
	if tr.OnlyA+tr.OnlyB != 0 || tr.SkippedA != 2 || tr.SkippedB != 1 || tr.DivergenceCount != 0 || tr.Differing != 3 {
		t.Fatalf("skipped: %+v", tr)
	}
	// A missing task: everything on one side.
	res = Compare([]Task{a, b}, []Task{a}, Options{})
	if res.Equal || res.Tasks[1].OnlyA != len(b.Tree.Calls) {
		t.Fatalf("missing task: %+v", res.Tasks[1])
	}
}

func TestWrite(t *testing.T) {
	a, b := traces()
	res := Compare([]Task{a}, []Task{b}, Options{Top: 2})
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--- A pass: 5 calls\n+++ B fail: 4 calls\n",
		"aligned 3 calls; only in A 2, only in B 1; 3 aligned calls differ in values\n",
		"first divergence in sys_call, after do_open (A seq 2):\n- do_read(fd=3, count=4096) = 4096  [seq 7]\n- do_read(fd=3, count=4096) = 0  [seq 10]\n+ log_error(level=2) = 0  [seq 7]\n",
		"1. errno  sys_call  [A seq 1, B seq 1]\n     ret: 0 -> -ENOENT\n2. errno  sys_call > do_open  [A seq 2, B seq 2]\n     ret: 3 -> -ENOENT\n",
		"... 1 more differing call (--top 0 lists all)\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Equal bool
		Tasks []struct {
			A, B        string
			Differences []struct{ Kind string }
		}
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Equal || back.Tasks[0].A != "pass" || back.Tasks[0].Differences[0].Kind != "errno" {
		t.Fatalf("json %v: %s", err, js.String())
	}
}

// FuzzDiff: any two buffers compare without panicking, a buffer equals
// itself, and the counts add up.
func FuzzDiff(f *testing.F) {
	seed := func(recs ...abi.Record) []byte {
		w := calltest.Area(recs...)
		out := make([]byte, 8*len(w))
		for i, x := range w {
			binary.LittleEndian.PutUint64(out[8*i:], x)
		}
		return out
	}
	f.Add(seed(e(sys, 0, 4, 1), e(open, 0, 4, 7), r(open, 4, 3), r(sys, 4, 0)), seed(e(sys, 0, 4, 1), r(sys, 4, 0xfffffffe)))
	f.Add([]byte{}, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, x, y []byte) {
		ta, tb := fuzzTask(x), fuzzTask(y)
		res := Compare([]Task{ta}, []Task{tb}, Options{MaxEdits: 50})
		tr := res.Tasks[0]
		if tr.Aligned+tr.OnlyA != tr.CallsA || tr.Aligned+tr.OnlyB != tr.CallsB {
			t.Fatalf("counts: %+v", tr)
		}
		var out bytes.Buffer
		if err := WriteText(&out, res); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&out, res); err != nil {
			t.Fatal(err)
		}
		if self := Compare([]Task{ta}, []Task{ta}, Options{}); !self.Equal {
			t.Fatalf("a buffer differs from itself: %+v", self.Tasks[0])
		}
	})
}

func fuzzTask(b []byte) Task {
	w := make([]uint64, len(b)/8)
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return Task{Label: "fuzz", Tree: calltest.Build(w), Namer: &calls.Namer{}}
}

// FuzzAlign: any two sequences align into a valid alignment, exact or
// greedy.
func FuzzAlign(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, []byte{1, 3, 4, 5}, uint8(3))
	f.Fuzz(func(t *testing.T, x, y []byte, budget uint8) {
		a, b := make([]int32, len(x)), make([]int32, len(y))
		for i, v := range x {
			a[i] = int32(v % 8)
		}
		for i, v := range y {
			b[i] = int32(v % 8)
		}
		ps, exact := align(a, b, int(budget))
		checkAlignment(t, a, b, ps)
		if exact {
			// An exact alignment matches as many as the textbook LCS.
			n := 0
			for _, p := range ps {
				if p.a >= 0 && p.b >= 0 {
					n++
				}
			}
			if want := lcsLen(a, b); n != want {
				t.Fatalf("%d matched, the LCS has %d", n, want)
			}
		}
	})
}

func lcsLen(a, b []int32) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] > cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
