package debuginfo

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

const fixture = "testdata/fixture.elf"

func openFixture(t testing.TB) *Index {
	t.Helper()
	ix, err := Open(fixture, Options{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func one(t testing.TB, ix *Index, name string) *Func {
	t.Helper()
	fs := ix.ByName(name)
	if len(fs) != 1 {
		t.Fatalf("%s: %d functions", name, len(fs))
	}
	return fs[0]
}

func TestOpenFixture(t *testing.T) {
	ix := openFixture(t)
	if ix.Source != SourceDWARF || ix.Stats.Units != 2 {
		t.Fatalf("source %s, %d units", ix.Source, ix.Stats.Units)
	}
	if len(ix.BuildID) != 40 {
		t.Errorf("build id %q", ix.BuildID)
	}
	sigs := map[string]string{
		"do_open":   "long do_open(int dfd, const char * filename, struct open_how * how)",
		"set_flags": "bool set_flags(struct flags * f, enum state s, umode_t mode)",
		"no_args":   "void no_args()",
		"by_value":  "long by_value(struct open_how how, union word w, signed char c)",
		"fb":        "int fb(void * p)",
	}
	for name, want := range sigs {
		if got := ix.Signature(one(t, ix, name)); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	f := one(t, ix, "do_open")
	if f.File != "fixture_a.c" && !strings.HasSuffix(f.File, "/fixture_a.c") || f.Line != 26 || f.Static {
		t.Errorf("do_open at %s:%d static %v", f.File, f.Line, f.Static)
	}
	if f.High <= f.Low {
		t.Errorf("do_open range %#x-%#x", f.Low, f.High)
	}
	helpers := ix.ByName("helper")
	if len(helpers) != 2 || !helpers[0].Static || filepath.Base(helpers[0].Unit) == filepath.Base(helpers[1].Unit) {
		t.Fatalf("helper: %+v", helpers)
	}
	// Members with bit positions.
	st := ix.StructOf(one(t, ix, "set_flags").Params[0].Type)
	if st == nil || st.Tag != "flags" {
		t.Fatalf("set_flags f: %+v", st)
	}
	want := []struct {
		name            string
		off, size       uint64
		bitOff, bitSize uint64
		kind            Kind
	}{
		{"ro", 0, 1, 0, 1, KindUint},
		{"mode", 0, 1, 1, 3, KindUint},
		{"delta", 0, 2, 4, 5, KindInt},
		{"tail", 2, 1, 0, 0, KindUint},
		{"inner", 8, 24, 0, 0, KindStruct},
		{"empty", 32, 0, 0, 0, KindArray},
	}
	if len(st.Members) != len(want) {
		t.Fatalf("members %+v", st.Members)
	}
	for i, w := range want {
		m := st.Members[i]
		if m.Name != w.name || m.Off != w.off || m.Size != w.size || m.BitOff != w.bitOff || m.BitSize != w.bitSize || ix.Type(m.Type).Kind != w.kind {
			t.Errorf("member %d: %+v (%s), want %+v", i, m, ix.Type(m.Type).Kind, w)
		}
	}
	// A nested struct member keeps its name and size, not its members.
	if in := ix.Type(st.Members[4].Type); in.Name != "struct open_how" || len(in.Members) != 0 {
		t.Errorf("nested member type %+v", in)
	}
	en := ix.Type(one(t, ix, "set_flags").Params[1].Type)
	wantEnum := []Enumerator{{"STATE_IDLE", 0}, {"STATE_RUN", 3}, {"STATE_DEAD", -1}}
	if en.Kind != KindEnum || !reflect.DeepEqual(en.Enumerators, wantEnum) {
		t.Errorf("enum state: %+v", en)
	}
	if mt := ix.Type(one(t, ix, "set_flags").Params[2].Type); mt.Kind != KindUint || mt.Size != 2 || mt.Name != "umode_t" {
		t.Errorf("umode_t: %+v", mt)
	}
	if c := ix.Type(one(t, ix, "by_value").Params[2].Type); c.Kind != KindInt || c.Size != 1 {
		t.Errorf("signed char: %+v", c)
	}
}

func TestLookup(t *testing.T) {
	ix := openFixture(t)
	f := one(t, ix, "set_flags")
	for _, pc := range []uint64{f.Low, f.Low + 1, f.High - 1} {
		if got := ix.Lookup(pc); got != f {
			t.Errorf("Lookup(%#x) = %v", pc, got)
		}
	}
	if ix.At(f.Low+1) != nil || ix.At(f.Low) != f {
		t.Error("At must match starts only")
	}
	if ix.Lookup(0x1000) != nil || ix.Lookup(^uint64(0)) != nil {
		t.Error("addresses outside every function must not be named")
	}
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(fixture, Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(fixture, Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if a.Stats.Cached || !b.Stats.Cached {
		t.Fatalf("cached: first %v, second %v", a.Stats.Cached, b.Stats.Cached)
	}
	if !reflect.DeepEqual(a.Funcs, b.Funcs) || !reflect.DeepEqual(a.Types, b.Types) || a.BuildID != b.BuildID {
		t.Fatal("the cached index differs from the one read")
	}
	// A damaged entry is rebuilt, not trusted.
	p, _ := cachePath(dir, a.BuildID)
	os.WriteFile(p, []byte("garbage"), 0o644)
	c, err := Open(fixture, Options{CacheDir: dir})
	if err != nil || c.Stats.Cached || !reflect.DeepEqual(a.Funcs, c.Funcs) {
		t.Fatalf("damaged cache: err %v cached %v", err, c.Stats.Cached)
	}
}

// TestBindStaticsByFile: two static helper()s of different shapes get
// each its own shape from DWARF's files, where System.map names alone
// cannot tell them apart.
func TestBindStaticsByFile(t *testing.T) {
	ix := openFixture(t)
	layout := `{"func":"helper","file":"lib/fixture_a.c","static":true,"args":[{"idx":0,"size":4,"fields":[]}],"ret":{"size":4,"fields":[]}}
{"func":"helper","file":"lib/fixture_b.c","static":true,"args":[{"idx":0,"size":8,"fields":[{"off":0,"size":8},{"off":8,"size":8},{"off":16,"size":8}]}],"ret":{"size":8,"fields":[]}}
{"func":"gone","args":[],"ret":null}
`
	l, err := abi.ReadLayout(strings.NewReader(layout), "l.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	b := Bind(l, ix)
	if len(b.Funcs) != 2 || len(b.Ambiguous) != 0 || !reflect.DeepEqual(b.Missing, []string{"gone"}) {
		t.Fatalf("bound %d missing %v ambiguous %v", len(b.Funcs), b.Missing, b.Ambiguous)
	}
	table, errs := b.Table(Space{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, f := range ix.ByName("helper") {
		want := map[string]int{"fixture_a.c": 4, "fixture_b.c": 6}[filepath.Base(f.Unit)]
		if got := table.RecordLen(f.Low, abi.KindEntry, 0); got != want {
			t.Errorf("helper in %s at %#x: %d words, want %d", f.Unit, f.Low, got, want)
		}
	}
	// Shapes that differ, one of them of a file without a helper: the
	// helper of a file the layout does not list was not instrumented,
	// which is no ambiguity.
	l3, _ := abi.ReadLayout(strings.NewReader(`{"func":"helper","file":"lib/fixture_a.c","static":true,"args":[{"idx":0,"size":4,"fields":[]}],"ret":{"size":4,"fields":[]}}
{"func":"helper","file":"lib/other.c","static":true,"args":[{"idx":0,"size":8,"fields":[{"off":0,"size":8},{"off":8,"size":8}]}],"ret":{"size":8,"fields":[]}}
`), "l3.jsonl")
	if b := Bind(l3, ix); len(b.Ambiguous) != 0 || len(b.Funcs) != 1 || filepath.Base(ix.At(b.Funcs[0].Addr).Unit) != "fixture_a.c" {
		t.Fatalf("helper of an unlisted file: bound %+v ambiguous %v", b.Funcs, b.Ambiguous)
	}
	// Without files (System.map), the two shapes cannot be told apart.
	helpers := ix.ByName("helper")
	plain := FromSymbols(Symbols{"helper": {{Addr: helpers[0].Low}, {Addr: helpers[1].Low}}})
	l2, _ := abi.ReadLayout(strings.NewReader(layout), "l.jsonl")
	if b := Bind(l2, plain); len(b.Ambiguous) != 1 || len(b.Funcs) != 0 {
		t.Fatalf("System.map binding should report helper ambiguous, got %v", b.Ambiguous)
	}
}

// TestOneSlideRule: whatever the symbols are (System.map at link
// addresses, kallsyms of a randomised boot) and whether the trace knows
// its KASLR offset, a traced pc names the same function.
func TestOneSlideRule(t *testing.T) {
	const slide = 0x200000
	sysmap := "ffffffff81000000 T _text\nffffffff81001000 T do_open\nffffffff81001100 t helper\n"
	kallsyms := "ffffffff81200000 T _text\nffffffff81201000 T do_open\nffffffff81201100 t helper\n"
	tracePC := uint64(0xffffffff81001100 + slide) // helper at run time
	cases := []struct {
		name, syms, kaslr string
		known             bool
	}{
		{"System.map, offset in trace", sysmap, "0x200000", true},
		{"kallsyms, offset in trace", kallsyms, "0x200000", true},
		{"kallsyms, no offset in trace", kallsyms, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			syms, err := ReadSymbols(strings.NewReader(c.syms), "syms")
			if err != nil {
				t.Fatal(err)
			}
			ix := FromSymbols(syms)
			off, err := abi.ParseKASLROffset(c.kaslr)
			if err != nil {
				t.Fatal(err)
			}
			sp := SpaceOf(&abi.Meta{KASLROffset: off}, ix)
			if sp.Known != c.known || sp.Slide != slide {
				t.Fatalf("space %+v", sp)
			}
			f := ix.At(sp.Link(tracePC))
			if f == nil || f.Name != "helper" {
				t.Fatalf("pc %#x named %v", tracePC, f)
			}
			// The layout table speaks the trace's addresses too.
			l, _ := abi.ReadLayout(strings.NewReader(`{"func":"helper","args":[{"idx":0,"size":8,"fields":[{"off":0,"size":8},{"off":8,"size":8}]}]}`), "l")
			table, _ := Bind(l, ix).Table(sp)
			if n := table.RecordLen(tracePC, abi.KindEntry, 0); n != 5 {
				t.Fatalf("record length at the traced pc: %d", n)
			}
		})
	}
	// A System.map and no offset: the kernel is taken as not randomised.
	syms, _ := ReadSymbols(strings.NewReader(sysmap), "System.map")
	if sp := SpaceOf(&abi.Meta{}, FromSymbols(syms)); sp.Slide != 0 || sp.Known || sp.Note == "" {
		t.Fatalf("space %+v", sp)
	}
}

func TestHiddenKallsyms(t *testing.T) {
	_, err := ReadSymbols(strings.NewReader("0000000000000000 T _text\n0000000000000000 t f\n"), "kallsyms")
	if !errors.Is(err, ErrHiddenAddrs) {
		t.Fatalf("err %v", err)
	}
}

func TestBuildIDCheck(t *testing.T) {
	ix := openFixture(t)
	if err := CheckBuildID(&abi.Meta{BuildID: ix.BuildID}, ix); err != nil {
		t.Fatal(err)
	}
	if err := CheckBuildID(&abi.Meta{}, ix); err != nil {
		t.Fatal(err)
	}
	err := CheckBuildID(&abi.Meta{BuildID: strings.Repeat("ab", 20)}, ix)
	if !errors.Is(err, ErrBuildID) {
		t.Fatalf("err %v", err)
	}
	if id, err := ReadBuildID(fixture); err != nil || id != ix.BuildID {
		t.Fatalf("ReadBuildID %q %v", id, err)
	}
}

func TestDeriveShape(t *testing.T) {
	ix := openFixture(t)
	s := ix.DeriveShape(one(t, ix, "set_flags"))
	want := []abi.Field{{Name: "ro", Off: 0, Size: 1}, {Name: "mode", Off: 0, Size: 1}, {Name: "delta", Off: 0, Size: 2}, {Name: "tail", Off: 2, Size: 1}, {Name: "inner", Off: 8, Size: 24}}
	if len(s.Args) != 3 || !reflect.DeepEqual(s.Args[0].Fields, want) || s.Args[0].Size != 8 || s.Args[1].Size != 4 || s.Args[2].Size != 2 || s.Ret.Size != 1 {
		t.Fatalf("set_flags shape %+v ret %+v", s.Args, s.Ret)
	}
	s = ix.DeriveShape(one(t, ix, "no_args"))
	if len(s.Args) != 1 || !s.Args[0].Marker || s.Ret == nil || s.Ret.Size != 0 {
		t.Fatalf("no_args shape %+v", s)
	}
	s = ix.DeriveShape(one(t, ix, "by_value"))
	if s.Args[0].Size != 24 || len(s.Args[0].Fields) != 3 || s.Args[1].Size != 8 || len(s.Args[1].Fields) != 0 {
		t.Fatalf("by_value shape %+v", s.Args)
	}
}

// TestDamaged: a stripped file falls back to symbols, a cut file and a
// file of another kind are errors, never a panic.
func TestDamaged(t *testing.T) {
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []int{0, 4, 64, 600, len(data) / 2, len(data) - 100} {
		p := filepath.Join(dir, "cut")
		os.WriteFile(p, data[:n], 0o644)
		if ix, err := Open(p, Options{CacheDir: "-"}); err == nil && n < len(data)/2 {
			t.Errorf("cut at %d: no error, %d funcs", n, len(ix.Funcs))
		}
	}
	p := filepath.Join(dir, "text")
	os.WriteFile(p, []byte("hello world\n"), 0o644)
	if _, err := Open(p, Options{CacheDir: "-"}); err == nil {
		t.Error("a text file that is no symbol map must be an error")
	}
}

// TestWalkerMatchesDebugDWARF: the fast walker and debug/dwarf's Reader
// give the same index.
func TestWalkerMatchesDebugDWARF(t *testing.T) {
	paths := []string{fixture, "testdata/fixture-z.elf"}
	if p := os.Getenv("KCOVDF_VMLINUX"); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		fast, err := Open(p, Options{CacheDir: "-"})
		if err != nil {
			t.Fatal(err)
		}
		slow, err := Open(p, Options{CacheDir: "-", portable: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(fast.Funcs) == 0 || !fast.Funcs[0].HasSig {
			t.Fatalf("%s: no functions with signatures", p)
		}
		if len(fast.Funcs) != len(slow.Funcs) || len(fast.Types) != len(slow.Types) {
			t.Fatalf("%s: walker %d funcs %d types, debug/dwarf %d funcs %d types", p, len(fast.Funcs), len(fast.Types), len(slow.Funcs), len(slow.Types))
		}
		for i := range fast.Funcs {
			if !reflect.DeepEqual(fast.Funcs[i], slow.Funcs[i]) {
				t.Fatalf("%s: function %d:\nwalker      %+v\ndebug/dwarf %+v", p, i, fast.Funcs[i], slow.Funcs[i])
			}
		}
		if !reflect.DeepEqual(fast.Types, slow.Types) {
			for i := range fast.Types {
				if !reflect.DeepEqual(fast.Types[i], slow.Types[i]) {
					t.Fatalf("%s: type %d:\nwalker      %+v\ndebug/dwarf %+v", p, i, fast.Types[i], slow.Types[i])
				}
			}
		}
	}
}

// TestLookupMatchesLinearScan: the bucketed search agrees with a plain
// scan, also for sparse addresses (module space far from the kernel's).
func TestLookupMatchesLinearScan(t *testing.T) {
	syms := Symbols{}
	addrs := []uint64{0xffffffff81000000, 0xffffffff81000010, 0xffffffff81001000, 0xffffffff81001001, 0xffffffff81345678, 0xffffffffa0000000, 0xffffffffa0000100}
	// Addresses spread over the whole space, as a module merged into a
	// user-space test image makes them.
	wide := Symbols{"low": {{Addr: 0x401000, Size: 0x10}}, "mid": {{Addr: 0x7fff00000000, Size: 0x10}}, "high": {{Addr: 0xffffffffbfe08000, Size: 0x10}}}
	for i, a := range addrs {
		syms[fmt.Sprintf("f%d", i)] = []Sym{{Addr: a, Size: 0x20}}
	}
	for _, ix := range []*Index{openFixture(t), FromSymbols(syms), FromSymbols(wide)} {
		linear := func(addr uint64) *Func {
			var best *Func
			for i := range ix.Funcs {
				if ix.Funcs[i].Low <= addr {
					best = &ix.Funcs[i]
				}
			}
			if best != nil && best.High != 0 && addr >= best.High {
				return nil
			}
			return best
		}
		var probe []uint64
		for _, f := range ix.Funcs {
			probe = append(probe, f.Low-1, f.Low, f.Low+1, f.High-1, f.High, f.High+0x1000)
		}
		probe = append(probe, 0, ^uint64(0))
		for _, a := range probe {
			if got, want := ix.Lookup(a), linear(a); got != want {
				t.Fatalf("Lookup(%#x) = %v, want %v", a, got, want)
			}
		}
	}
}

// TestBTF: without DWARF, BTF gives the same signatures, members and
// enumerators, at the symbol table's addresses.
func TestBTF(t *testing.T) {
	dw := openFixture(t)
	ix, err := Open("testdata/fixture-btf.elf", Options{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Source != SourceBTF {
		t.Fatalf("source %s", ix.Source)
	}
	for _, name := range []string{"do_open", "set_flags", "by_value", "fb"} {
		a, b := one(t, dw, name), one(t, ix, name)
		if a.Low != b.Low || dw.Signature(a) != ix.Signature(b) {
			t.Errorf("%s: BTF %#x %q, DWARF %#x %q", name, b.Low, ix.Signature(b), a.Low, dw.Signature(a))
		}
	}
	st := ix.StructOf(one(t, ix, "set_flags").Params[0].Type)
	if st == nil || len(st.Members) != 6 || st.Members[2].Name != "delta" || st.Members[2].BitOff != 4 || st.Members[2].BitSize != 5 || st.Members[4].Off != 8 || st.Members[4].Size != 24 {
		t.Fatalf("struct flags from BTF: %+v", st)
	}
	en := ix.Type(one(t, ix, "set_flags").Params[1].Type)
	if en.Kind != KindEnum || len(en.Enumerators) != 3 || en.Enumerators[2].Value != -1 && uint32(en.Enumerators[2].Value) != 0xffffffff {
		t.Fatalf("enum from BTF: %+v", en)
	}
	// The derived layout is the same as from DWARF.
	for _, name := range []string{"do_open", "set_flags", "no_args", "by_value"} {
		if a, b := dw.DeriveShape(one(t, dw, name)), ix.DeriveShape(one(t, ix, name)); !reflect.DeepEqual(shapeLens(a), shapeLens(b)) {
			t.Errorf("%s: BTF shape %+v, DWARF %+v", name, b, a)
		}
	}
}

func shapeLens(s abi.FuncShape) []int {
	var out []int
	for _, a := range s.Args {
		out = append(out, a.Idx, a.Size, len(a.Fields))
	}
	if s.Ret != nil {
		out = append(out, s.Ret.Size, len(s.Ret.Fields))
	}
	return out
}

// TestOpenRawBTF: raw BTF (as /sys/kernel/btf/vmlinux) with kallsyms of
// a randomised boot gives typed functions at link-time addresses.
func TestOpenRawBTF(t *testing.T) {
	f, err := elf.Open("testdata/fixture-btf.elf")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.Section(".BTF").Data()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "vmlinux.btf")
	os.WriteFile(p, raw, 0o644)
	dw := openFixture(t)
	const slide = 0x200000
	var ks strings.Builder
	fmt.Fprintf(&ks, "%x T _text\n", uint64(LinkText+slide))
	for _, name := range []string{"do_open", "set_flags"} {
		fmt.Fprintf(&ks, "%x T %s\n", one(t, dw, name).Low-0x401000+LinkText+slide, name)
	}
	syms, err := ReadSymbols(strings.NewReader(ks.String()), "kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := OpenBTF(p, syms)
	if err != nil {
		t.Fatal(err)
	}
	got := ix.At(one(t, dw, "set_flags").Low - 0x401000 + LinkText)
	if got == nil || ix.Source != SourceBTF || ix.Signature(got) != dw.Signature(one(t, dw, "set_flags")) {
		t.Fatalf("set_flags from raw BTF: %+v", got)
	}
	// Without an offset in the trace, the kallsyms' own offset is the slide.
	if sp := SpaceOf(&abi.Meta{}, ix); sp.Slide != slide || sp.Known {
		t.Fatalf("space %+v", sp)
	}
}

// TestModule: a relocatable object's functions land at their sections'
// load addresses with their DWARF signatures, and merge into a kernel's
// index under the kernel's slide.
func TestModule(t *testing.T) {
	const text, unlikely = 0xffffffffc0001000, 0xffffffffc0008000
	mod, err := OpenModule("testdata/fixture.ko", map[string]uint64{".text": text, ".text.unlikely": unlikely})
	if err != nil {
		t.Fatal(err)
	}
	sub, errf, init := one(t, mod, "mod_submit"), one(t, mod, "mod_error"), one(t, mod, "mod_init")
	if sub.Low != text || errf.Low != unlikely || init.Low != text+0x20 {
		t.Fatalf("addresses %#x %#x %#x", sub.Low, errf.Low, init.Low)
	}
	if got := mod.Signature(sub); got != "int mod_submit(struct req * r, int flags)" {
		t.Fatalf("signature %q", got)
	}
	if got := mod.Signature(errf); got != "long mod_error(int err)" {
		t.Fatalf("signature %q", got)
	}
	kernel := openFixture(t)
	n := len(kernel.Funcs)
	const slide = 0x200000
	kernel.Merge(mod, slide)
	sp := Space{Slide: slide, Known: true}
	f := kernel.At(sp.Link(unlikely))
	if f == nil || f.Name != "mod_error" || kernel.Signature(f) != "long mod_error(int err)" || len(kernel.Funcs) != n+3 {
		t.Fatalf("merged: %+v", f)
	}
	if st := kernel.StructOf(kernel.At(sp.Link(text)).Params[0].Type); st == nil || st.Tag != "req" || len(st.Members) != 2 || st.Members[1].Off != 8 {
		t.Fatalf("merged struct: %+v", st)
	}
	if _, err := OpenModule("testdata/fixture.ko", map[string]uint64{".data": 1}); err == nil {
		t.Fatal("a module placed nowhere must be an error")
	}
	if _, err := OpenModule(fixture, nil); err == nil {
		t.Fatal("a vmlinux is no module")
	}
}

// TestLayoutsWithoutSymbols: a layout without pcs and no symbols binds
// nothing and says which functions, without failing.
func TestLayoutsWithoutSymbols(t *testing.T) {
	l, err := abi.ReadLayout(strings.NewReader(`{"func":"f","args":[],"ret":null}`+"\n"+`{"func":"g","pc":"0xffffffff81000010","args":[{"idx":0,"size":4,"fields":[]}]}`), "l")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Layouts(nil, PluginLayout{Layout: l, Label: "l"})
	if err != nil || len(b.Funcs) != 1 || b.Funcs[0].Addr != 0xffffffff81000010 || !reflect.DeepEqual(b.Missing, []string{"f"}) {
		t.Fatalf("%+v %v", b, err)
	}
	if _, err := Layouts(nil, DWARFLayout{}); err == nil {
		t.Fatal("deriving layouts without debug info must be an error")
	}
}

func TestTrimSourceRoot(t *testing.T) {
	fs := []Func{
		{Unit: "/build/src/fs/open.c", File: "/build/src/include/linux/fs.h"},
		{Unit: "/build/src/kernel/fork.c", File: "/build/src/kernel/fork.c"},
		{Unit: "/build/obj/lib/crc32table.c", File: "/build/obj/lib/crc32table.c"},
	}
	trimSourceRoot(fs)
	if fs[0].Unit != "fs/open.c" || fs[0].File != "include/linux/fs.h" || fs[1].File != "kernel/fork.c" || fs[2].Unit != "/build/obj/lib/crc32table.c" {
		t.Fatalf("%+v", fs)
	}
}

// A layout's own pcs are link-time addresses of the image: bound into the
// index's frame (relative to LinkText) like the index's functions, so that
// a vmlinux linked at another _text still decodes; kallsyms-based indexes
// keep them as they are.
func TestBindLayoutPCsIntoIndexFrame(t *testing.T) {
	l := &abi.Layout{}
	l.Add(abi.FuncShape{Func: "f", PC: "0xffffffff81200040", Args: []abi.ArgShape{{Idx: 0, Size: 4}}})
	for _, c := range []struct {
		name string
		ix   *Index
		want uint64
	}{
		{"vmlinux linked at another _text", &Index{Rebase: 0x200000}, 0xffffffff81000040},
		{"kallsyms", &Index{Rebase: 0x200000, TextSymbols: true}, 0xffffffff81200040},
		{"no index", nil, 0xffffffff81200040},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := Bind(l, c.ix)
			if len(b.Funcs) != 1 || b.Funcs[0].Addr != c.want {
				t.Errorf("index %+v: bound %+v, want address %#x", c.ix, b.Funcs, c.want)
			}
		})
	}
}

// A raw area dump has no metadata, so no build id to check.
func TestCheckBuildIDWithoutMetadata(t *testing.T) {
	if err := CheckBuildID(nil, &Index{BuildID: "abcd"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckBuildID(&abi.Meta{BuildID: "1234"}, &Index{BuildID: "abcd"}); !errors.Is(err, ErrBuildID) {
		t.Fatalf("mismatch: %v", err)
	}
}

// TestDeriveShapeCapped: with a cap, every expansion keeps its first
// fields and says how many the struct has; the comparison with a plugin
// layout honours the key.
func TestDeriveShapeCapped(t *testing.T) {
	ix := openFixture(t)
	f := one(t, ix, "set_flags")
	full := ix.DeriveShape(f)
	s := ix.DeriveShapeCapped(f, 2)
	a := s.Args[0]
	if len(a.Fields) != 2 || a.Capped != 5 || !reflect.DeepEqual(a.Fields, full.Args[0].Fields[:2]) {
		t.Fatalf("capped set_flags arg 0: %+v", a)
	}
	if s.Args[1].Capped != 0 || len(s.Args[1].Fields) != 0 {
		t.Fatalf("a scalar is not capped: %+v", s.Args[1])
	}
	if c := ix.DeriveShapeCapped(f, 5).Args[0]; c.Capped != 0 || len(c.Fields) != 5 {
		t.Fatalf("a cap of 5 on 5 fields cut nothing: %+v", c)
	}
	if c := ix.DeriveShapeCapped(f, 0).Args[0]; !reflect.DeepEqual(c, full.Args[0]) {
		t.Fatalf("cap 0: %+v, want %+v", c, full.Args[0])
	}
	by := ix.DeriveShapeCapped(one(t, ix, "by_value"), 1)
	if len(by.Args[0].Fields) != 1 || by.Args[0].Capped != 3 {
		t.Fatalf("capped by_value: %+v", by.Args[0])
	}

	derived := full.Args[0].Fields
	for _, c := range []struct {
		name     string
		recorded []abi.Field
		capped   int
		same     bool
	}{
		{"whole", derived, 0, true},
		{"capped", derived[:2], 5, true},
		{"cut without saying so", derived[:2], 0, false},
		{"wrong count", derived[:2], 4, false},
		{"other fields", []abi.Field{derived[2], derived[0]}, 5, false},
		{"more than the struct has", append(append([]abi.Field{}, derived...), derived[0]), 6, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SameExpansion(derived, c.recorded, c.capped); got != c.same {
				t.Errorf("SameExpansion(%d fields, capped %d) = %v, want %v", len(c.recorded), c.capped, got, c.same)
			}
		})
	}
}

// TestLines: an address's own line from the line table, where the index
// gives its function's declaration (do_open is declared on line 26, its
// first statement is on line 28), the same as llvm-symbolizer-19
// --no-inlines prints for the fixture.
func TestLines(t *testing.T) {
	l, err := OpenLines(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for addr, want := range map[uint64]string{
		0x401000: "fixture_a.c:28", 0x401004: "fixture_a.c:28", 0x401024: "fixture_a.c:40",
		0x401050: "fixture_a.c:51", 0x401070: "fixture_a.c:58", 0x401110: "fixture_b.c:8",
	} {
		file, line, ok := l.At(addr)
		if got := fmt.Sprintf("%s:%d", filepath.Base(file), line); !ok || got != want {
			t.Errorf("%#x: %s (ok %v), want %s", addr, got, ok, want)
		}
	}
	if _, _, ok := l.At(0x1000); ok {
		t.Error("an address outside every unit has a line")
	}
	ix := openFixture(t)
	if f := ix.At(0x401000 - ix.Rebase); f == nil || f.Line != 26 {
		t.Fatalf("the index gives do_open's declaration, line 26: %+v", f)
	}
	if _, err := OpenLines("testdata/fixture-btf.elf"); !errors.Is(err, ErrNoDWARF) {
		t.Errorf("a BTF-only image: %v, want ErrNoDWARF", err)
	}
	if got := unjoin("/b/obj/b/src/x.S", "/b/obj"); got != "/b/src/x.S" {
		t.Errorf("unjoin: %s", got)
	}
	if got := unjoin("/b/obj/kernel/x.c", "/b/obj"); got != "/b/obj/kernel/x.c" {
		t.Errorf("unjoin of a relative name: %s", got)
	}
}
