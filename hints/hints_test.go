package hints

import (
	"fmt"
	"slices"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/signal"
)

func hexes(vs []uint64) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%#x", v)
	}
	return out
}

func TestExpand(t *testing.T) {
	for _, c := range []struct {
		v     uint64
		width int
		want  []string
	}{
		// O_LARGEFILE, 4 bytes: 1<<15 is one of syzkaller's special
		// integers, and so is its low byte; byte-swapped it is new.
		{0x8000, 4, []string{"0x800000"}},
		{0x8041, 4, []string{"0x8041", "0x41800000", "0xffffffffffff8041", "0x4180", "0x41"}},
		{0x1234, 2, []string{"0x1234", "0x3412", "0x34"}},
		{0xab, 1, []string{"0xab", "0xffffffffffffffab"}},
		{0xdeadbeef, 8, []string{"0xdeadbeef", "0xefbeadde00000000", "0xffffffffdeadbeef", "0xefbeadde", "0xffffffffefbeadde", "0xbeef", "0xffffffffffffbeef", "0xefbe", "0xffffffffffffefbe", "0xef", "0xffffffffffffffef"}},
		{4096, 8, []string{"0x10000000000000", "0x100000", "0x10"}}, // 4096 itself is special
		{3, 8, []string{"0x300000000000000", "0x3000000", "0x300"}},
		{^uint64(0), 8, nil}, // -1 at every width
		{0, 8, nil},
	} {
		if got := hexes(Expand(c.v, c.width)); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("Expand(%#x, %d) = %q, want %q", c.v, c.width, got, c.want)
		}
	}
}

const pc = 0xffffffff811a2480

func run(t *testing.T, opt Options, rs ...abi.Record) *Run {
	t.Helper()
	o := NewObserver(opt)
	o.AddRecords(rs)
	return o.Run()
}

func entry(arg, size uint8, ptr uint64, vals ...uint64) abi.Record {
	return abi.Record{Kind: abi.KindEntry, PC: pc, ArgIdx: arg, Size: size, Ptr: ptr, Values: vals}
}

func ret(size uint8, v uint64) abi.Record {
	return abi.Record{Kind: abi.KindReturn, PC: pc, Size: size, Values: []uint64{v}}
}

func TestStable(t *testing.T) {
	const heap = 0xffff888000bbfed0
	a := run(t, Options{},
		entry(0, 4, 0, 0xffffff9c),                  // dfd: -100 in 4 bytes
		entry(1, 8, 0, 0xffff888000be4020),          // a kernel pointer: no value
		entry(2, 8, heap, 0x8000, 0x1b6, 0x1234567), // how={flags, mode, resolve}
		ret(8, 3),
		ret(8, ^uint64(1)), // -ENOENT
	)
	b := run(t, Options{},
		entry(0, 4, 0, 0xffffff9c),
		entry(2, 8, heap, 0x8000, 0x1b6, 0x7654321), // resolve differs: flaky
		ret(8, ^uint64(1)),
		ret(8, 3),
	)
	h, err := Stable(Options{}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Runs != 2 || h.Stable != 5 || h.Flaky != 2 || len(h.Funcs) != 1 {
		t.Fatalf("%+v", h)
	}
	f := h.Funcs[0]
	if f.PC != pc || f.Returns == nil || !slices.Equal(f.Returns.Values, []int64{3}) || !slices.Equal(f.Returns.Errnos, []int64{2}) {
		t.Fatalf("func %+v returns %+v", f, f.Returns)
	}
	var got []string
	for _, s := range f.Args {
		got = append(got, fmt.Sprintf("arg%d.%d w%d %q", s.Arg, s.Field, s.Width, hexes(s.Values)))
	}
	want := []string{`arg0.-1 w4 ["0xffffff9c"]`, `arg2.0 w8 ["0x8000"]`, `arg2.1 w8 ["0x1b6"]`}
	if !slices.Equal(got, want) {
		t.Fatalf("slots %q, want %q", got, want)
	}
	if c := f.Args[0].Candidates; !slices.Contains(c, 0xffffffffffffff9c) || !slices.Contains(c, 0xffffff9c) {
		t.Fatalf("dfd candidates %q", hexes(c))
	}
	if _, err := Stable(Options{}); err == nil {
		t.Fatal("no runs: no error")
	}
}

// TestCaps: a function's candidates stop at MaxPerPC, the most frequent
// values first; a slot keeps MaxValuesPerSlot values per run.
func TestCaps(t *testing.T) {
	var rs []abi.Record
	for i := 0; i < 100; i++ {
		rs = append(rs, entry(0, 1, 0, uint64(0x40+i))) // 1 byte: one or two candidates each
	}
	for i := 0; i < 5; i++ {
		rs = append(rs, entry(0, 1, 0, 0xc5)) // the most frequent
	}
	r := run(t, Options{MaxValuesPerSlot: 1000}, rs...)
	h, _ := Stable(Options{MaxPerPC: 10}, r)
	f := h.Funcs[0]
	n := 0
	for _, s := range f.Args {
		n += len(s.Candidates)
	}
	if n > 10 || f.Capped == 0 || f.Args[0].Values[0] != 0xc5 {
		t.Fatalf("%d candidates, %d capped, first %#x", n, f.Capped, f.Args[0].Values[0])
	}
	r = run(t, Options{MaxValuesPerSlot: 8}, rs...)
	if r.Pairs() != 8 {
		t.Fatalf("%d pairs kept, want 8", r.Pairs())
	}
	if h, _ := Stable(Options{}, r); h.Noisy != 1 {
		t.Fatalf("noisy %d", h.Noisy)
	}
}

// TestTypes: with types, a pointer argument gives no value and a
// field's width is its member's.
func TestTypes(t *testing.T) {
	types := fixed{value: signal.ValueType{Kind: signal.Pointer}, fields: []signal.ValueType{{Kind: signal.Unsigned, Size: 2}, {Kind: signal.Pointer, Size: 8}}}
	r := run(t, Options{Types: types}, entry(0, 8, 0xffff888000001000, 0x12345, 0x7fff0000))
	h, _ := Stable(Options{}, r)
	if len(h.Funcs) != 1 || len(h.Funcs[0].Args) != 1 || h.Funcs[0].Args[0].Width != 2 || h.Funcs[0].Args[0].Values[0] != 0x2345 {
		t.Fatalf("%+v", h.Funcs)
	}
}

type fixed struct {
	value  signal.ValueType
	fields []signal.ValueType
}

func (f fixed) Types(uint64, bool, uint8) (signal.ValueType, []signal.ValueType) {
	return f.value, f.fields
}
