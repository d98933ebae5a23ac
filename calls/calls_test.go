package calls

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
)

// rec is a record to encode: kind, pc, arg index, size, ptr, values.
type rec struct {
	k    abi.Kind
	pc   uint64
	idx  uint8
	size uint8
	ptr  uint64
	vals []uint64
}

func v2area(recs []rec) []uint64 {
	w := []uint64{0}
	for i, r := range recs {
		w = abi.EncodeV2(w, &abi.Record{Kind: r.k, Seq: uint32(i + 1), PC: r.pc, ArgIdx: r.idx, Size: r.size, Ptr: r.ptr, Values: r.vals})
	}
	w[0] = uint64(len(w) - 1)
	return w
}

func tree(recs []rec) *Tree {
	a := v2area(recs)
	return Build(a, abi.NewDecoder(a, abi.Options{Format: abi.FormatV2, PCMin: 1, PCMax: ^uint64(0)}), Options{})
}

const (
	A = 0xffffffff81000100
	B = 0xffffffff81000200
	C = 0xffffffff81000300
)

func E(pc uint64, idx, size uint8, v ...uint64) rec {
	return rec{k: abi.KindEntry, pc: pc, idx: idx, size: size, vals: v}
}

func R(pc uint64, size uint8, v uint64) rec {
	return rec{k: abi.KindReturn, pc: pc, size: size, vals: []uint64{v}}
}

// shape renders a tree as "pc(depth,parent,flags)" for comparison.
func shape(t *Tree) string {
	var b strings.Builder
	names := map[uint64]string{A: "A", B: "B", C: "C"}
	for i, c := range t.Calls {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(names[c.PC])
		b.WriteString(strings.Repeat("'", int(c.Depth)))
		if c.Flags&NoReturn != 0 {
			b.WriteString("!noret")
		}
		if c.Flags&NoEntry != 0 {
			b.WriteString("!noentry")
		}
	}
	return b.String()
}

func TestBuild(t *testing.T) {
	cases := []struct {
		name  string
		recs  []rec
		want  string
		exact bool
		open  int
	}{
		{"marked nesting", []rec{E(A, 0, 4, 1), E(A, 1, 8, 2), E(B, 0, 0, 0), R(B, 0, 0), E(C, 0, 4, 3), R(C, 4, 0), R(A, 8, 5)}, "A B' C'", true, 0},
		{"recursion", []rec{E(A, 0, 4, 3), E(A, 0, 4, 2), E(A, 0, 4, 1), R(A, 4, 1), R(A, 4, 2), R(A, 4, 3)}, "A A' A''", true, 0},
		{"missing return closed by caller", []rec{E(A, 0, 4, 1), E(B, 0, 4, 1), E(C, 0, 4, 1), R(C, 4, 0), R(A, 4, 0), E(A, 0, 4, 9), R(A, 4, 0)}, "A B'!noret C'' A", true, 1},
		{"no markers: return without entry", []rec{E(A, 0, 4, 1), R(B, 4, 7), R(A, 4, 0)}, "A B'!noentry", false, 0},
		{"trace ends inside calls", []rec{E(A, 0, 4, 1), E(B, 0, 0, 0)}, "A!noret B'!noret", true, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := tree(c.recs)
			if got := shape(tr); got != c.want {
				t.Fatalf("tree %q, want %q", got, c.want)
			}
			if tr.Open != c.open {
				t.Errorf("open %d, want %d", tr.Open, c.open)
			}
			// "exact" needs markers; the no-marker case must say it guessed.
			if c.name == "no markers: return without entry" {
				if tr.Exact || len(tr.Notes) == 0 || tr.Calls[0].Flags&Unsure == 0 {
					t.Errorf("a trace without markers must be marked unsure: %+v", tr)
				}
			}
			// Pre-order: descendants are contiguous.
			for i, call := range tr.Calls {
				for j := i + 1; j < int(call.End); j++ {
					if tr.Calls[j].Depth <= call.Depth {
						t.Fatalf("call %d's subtree [%d,%d) holds call %d at depth %d", i, i+1, call.End, j, tr.Calls[j].Depth)
					}
				}
			}
		})
	}
	tr := tree([]rec{E(A, 0, 4, 1), E(A, 1, 8, 2), E(B, 0, 0, 0), R(B, 0, 0), R(A, 8, 5)})
	if args := tr.Args(0); len(args) != 2 || tr.Words(&args[1])[0] != 2 || !tr.Calls[0].HasRet || tr.Words(&tr.Calls[0].Ret)[0] != 5 {
		t.Fatalf("A's values: %+v ret %+v", args, tr.Calls[0].Ret)
	}
	var kids []int
	tr.Children(0, func(j int) { kids = append(kids, j) })
	if len(kids) != 1 || kids[0] != 1 {
		t.Fatalf("children of A: %v", kids)
	}
}

func fixtureNamer(t *testing.T) (*Namer, map[string]uint64) {
	t.Helper()
	ix, err := debuginfo.Open("../debuginfo/testdata/fixture.elf", debuginfo.Options{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	pcs := map[string]uint64{}
	for _, f := range ix.Funcs {
		pcs[f.Name] = f.Low
	}
	return &Namer{Index: ix}, pcs
}

func TestRender(t *testing.T) {
	nm, pc := fixtureNamer(t)
	neg := func(v int64) uint64 { return uint64(v) }
	recs := []rec{
		// do_open(-100, "x", &how) = 0x8000
		E(pc["do_open"], 0, 4, 0xffffff9c), E(pc["do_open"], 1, 8, 0x7ffe0010),
		{k: abi.KindEntry, pc: pc["do_open"], idx: 2, size: 8, ptr: 0xffff888000001000, vals: []uint64{0x8000, 0, 0}},
		// set_flags(f = {ro 1, mode 5, delta -3, tail 7, inner <fault>}, STATE_RUN, 0644) = true:
		// ro, mode and delta share the bytes 0x1db, each field reads its own widened bytes.
		{k: abi.KindEntry, pc: pc["set_flags"], idx: 0, size: 8, ptr: 0xffff888000002000, vals: []uint64{0xdb, 0xdb, 0x1db, 7, abi.BadAddr}},
		E(pc["set_flags"], 1, 4, 3), E(pc["set_flags"], 2, 2, 0644), R(pc["set_flags"], 1, 1),
		R(pc["do_open"], 8, 0x8000),
		// helper(-1) = -2 is an errno; an ERR_PTR struct pointer has every field faulted.
		E(pc["by_value"], 0, 24, 1, 2, 3), R(pc["by_value"], 8, neg(-2)),
		{k: abi.KindEntry, pc: pc["set_flags"], idx: 0, size: 8, ptr: neg(-12), vals: []uint64{abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr}},
		{k: abi.KindEntry, pc: pc["set_flags"], idx: 1, size: 4, vals: []uint64{0x7}},
		E(pc["set_flags"], 2, 2, 0), R(pc["set_flags"], 1, 0),
	}
	tr := tree(recs)
	line := func(i int) string {
		var parts []string
		for _, a := range nm.Args(tr, i) {
			parts = append(parts, a.Name+"="+a.Text)
		}
		s := nm.Func(tr.Calls[i].PC).Name + "(" + strings.Join(parts, ", ") + ")"
		if r, ok := nm.Ret(tr, i); ok {
			s += " = " + r.Text
		}
		return s
	}
	want := []string{
		"do_open(dfd=-100, filename=0x7ffe0010, how={flags=0x8000, mode=0, resolve=0}) = 32768",
		"set_flags(f={ro=1, mode=5, delta=-3, tail=7, inner=<fault>}, s=STATE_RUN, mode=0644) = true",
		"by_value(how={flags=0x1, mode=2, resolve=3}) = -ENOENT",
		"set_flags(f=ERR_PTR(-ENOMEM), s=7, mode=0) = false",
	}
	if len(tr.Calls) != len(want) {
		t.Fatalf("%d calls", len(tr.Calls))
	}
	for i, w := range want {
		if got := line(i); got != w {
			t.Errorf("call %d:\n got %s\nwant %s", i, got, w)
		}
	}
	if !nm.IsErr(tr, 2) || nm.IsErr(tr, 0) {
		t.Error("IsErr: by_value returned -ENOENT, do_open did not fail")
	}
	if r, _ := nm.Ret(tr, 2); r.Errno != 2 {
		t.Errorf("errno %d", r.Errno)
	}
	if !comparisonLike("strcmp") || !comparisonLike("memcmp") || comparisonLike("do_open") {
		t.Error("comparisonLike")
	}
}

// TestRenderWithoutDebugInfo: names and types from a layout alone.
func TestRenderWithoutDebugInfo(t *testing.T) {
	l, err := abi.ReadLayout(strings.NewReader(`{"func":"vfs_write","pc":"0xffffffff81000100","args":[{"idx":0,"name":"file","type":"struct file *","size":8,"fields":[{"name":"f_mode","off":0,"size":4}]},{"idx":1,"name":"count","type":"size_t","size":8,"fields":[]},{"idx":2,"name":"pos","type":"long long","size":8,"fields":[]}],"ret":{"type":"ssize_t","size":8,"fields":[]}}`), "l")
	if err != nil {
		t.Fatal(err)
	}
	nm := &Namer{Layout: debuginfo.Bind(l, nil)}
	tr := tree([]rec{{k: abi.KindEntry, pc: A, idx: 0, size: 8, ptr: 0xffff888000001000, vals: []uint64{3}}, E(A, 1, 8, 4096), E(A, 2, 8, uint64(1<<63|5)), R(A, 8, uint64(1<<64-9))})
	args := nm.Args(tr, 0)
	if nm.Func(A).Name != "vfs_write" || len(args) != 3 || args[0].Text != "{f_mode=0x3}" || args[1].Text != "4096" || args[2].Text != "-9223372036854775803" {
		t.Fatalf("args %+v", args)
	}
	if r, _ := nm.Ret(tr, 0); r.Text != "-EBADF" {
		t.Fatalf("ret %+v", r)
	}
}

// Without debug info a value's signedness comes from its type's name.
func TestGuessTypeSignedness(t *testing.T) {
	for name, signed := range map[string]bool{
		"int": true, "long": true, "ssize_t": true, "loff_t": true, "ktime_t": true,
		"clockid_t": true, "int64_t": true, "s32": true, "const int": true,
		"unsigned int": false, "size_t": false, "sector_t": false, "gfp_t": false,
		"u64": false, "__u32": false, "uint32_t": false, "dev_t": false,
	} {
		k := guessType(name, 8).Kind
		if (k == debuginfo.KindInt) != signed || (!signed && k != debuginfo.KindUint) {
			t.Errorf("%s: kind %v, want signed %v", name, k, signed)
		}
	}
}

// TestRenderCapped: a kernel built with a field cap records a struct's
// first fields; they are rendered by their types, and the text says that
// fields were left out.
func TestRenderCapped(t *testing.T) {
	nm, pc := fixtureNamer(t)
	b, err := debuginfo.Layouts(nm.Index, debuginfo.DWARFLayout{MaxFields: 3})
	if err != nil {
		t.Fatal(err)
	}
	nm.Layout = b
	tr := tree([]rec{
		{k: abi.KindEntry, pc: pc["set_flags"], idx: 0, size: 8, ptr: 0xffff888000002000, vals: []uint64{0xdb, 0xdb, 0x1db}},
		E(pc["set_flags"], 1, 4, 3), E(pc["set_flags"], 2, 2, 0644), R(pc["set_flags"], 1, 1),
	})
	args := nm.Args(tr, 0)
	if len(args) != 3 || args[0].Text != "{ro=1, mode=5, delta=-3, ...}" || len(args[0].Fields) != 3 {
		t.Fatalf("args %+v", args)
	}
}

// streamMatchesBuild requires Stream to hand over, one top-level call at
// a time, the calls Build gives for the same records: same calls,
// indexes shifted by First, same values, same summary.
func streamMatchesBuild(t testing.TB, words []uint64, opt abi.Options) {
	t.Helper()
	built := Build(words, abi.NewDecoder(words, opt), Options{})
	markers := len(built.Calls) > 0 && built.Calls[0].Flags&Unsure == 0
	next := 0
	end, err := Stream(words, abi.NewDecoder(words, opt), Options{Markers: markers}, func(s *Tree) error {
		if s.First != next || len(s.Calls) == 0 || s.Calls[0].Parent != -1 || int(s.Calls[0].End) != len(s.Calls) {
			t.Fatalf("stream hands over calls [%d, +%d) after %d, first %+v", s.First, len(s.Calls), next, s.Calls[0])
		}
		for i := range s.Calls {
			got, want := s.Calls[i], built.Calls[s.First+i]
			if got.Parent >= 0 {
				got.Parent += int32(s.First)
			}
			got.End += int32(s.First)
			got.argLo, want.argLo = 0, 0
			got.Ret.off, want.Ret.off = 0, 0
			if got != want {
				t.Fatalf("call %d: stream %+v, build %+v", s.First+i, got, want)
			}
			if !slices.Equal(s.Words(&s.Calls[i].Ret), built.Words(&built.Calls[s.First+i].Ret)) {
				t.Fatalf("call %d: return words differ", s.First+i)
			}
			sa, ba := s.Args(i), built.Args(s.First+i)
			if len(sa) != len(ba) {
				t.Fatalf("call %d: %d args, build %d", s.First+i, len(sa), len(ba))
			}
			for k := range sa {
				if sa[k].Idx != ba[k].Idx || sa[k].Size != ba[k].Size || sa[k].Ptr != ba[k].Ptr || !slices.Equal(s.Words(&sa[k]), built.Words(&ba[k])) {
					t.Fatalf("call %d arg %d: stream %+v, build %+v", s.First+i, k, sa[k], ba[k])
				}
			}
		}
		next += len(s.Calls)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if end.Count != len(built.Calls) || next != end.Count || end.Exact != built.Exact || end.Open != built.Open || !slices.Equal(end.Notes, built.Notes) || len(end.Calls) != 0 {
		t.Fatalf("stream end %+v, build count %d exact %v open %d notes %q", end, len(built.Calls), built.Exact, built.Open, built.Notes)
	}
}

func TestStream(t *testing.T) {
	for _, recs := range [][]rec{
		{E(A, 0, 4, 1), E(A, 1, 8, 2), E(B, 0, 0, 0), R(B, 0, 0), E(C, 0, 4, 3), R(C, 4, 0), R(A, 8, 5), E(B, 0, 0, 0), R(B, 4, 1)},
		{E(A, 0, 4, 1), E(B, 0, 4, 1), E(C, 0, 4, 1), R(C, 4, 0), R(A, 4, 0), E(A, 0, 4, 9), R(A, 4, 0)},
		{E(A, 0, 4, 1), R(B, 4, 7), R(A, 4, 0), R(C, 4, 1)},
		{E(A, 0, 4, 1), E(B, 0, 0, 0)},
	} {
		streamMatchesBuild(t, v2area(recs), abi.Options{Format: abi.FormatV2, PCMin: 1, PCMax: ^uint64(0)})
	}
	// An error from the callback stops the stream.
	a := v2area([]rec{E(A, 0, 4, 1), R(A, 4, 0), E(B, 0, 4, 1), R(B, 4, 0)})
	calls := 0
	stop := errors.New("stop")
	if _, err := Stream(a, abi.NewDecoder(a, abi.Options{Format: abi.FormatV2, PCMin: 1, PCMax: ^uint64(0)}), Options{}, func(*Tree) error {
		calls++
		return stop
	}); err != stop || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

// TestRenderMaxFields: a Namer with MaxFields renders only the first
// fields, and says how many it left out.
func TestRenderMaxFields(t *testing.T) {
	nm, pc := fixtureNamer(t)
	nm.MaxFields = 2
	tr := tree([]rec{
		{k: abi.KindEntry, pc: pc["set_flags"], idx: 0, size: 8, ptr: 0xffff888000002000, vals: []uint64{0xdb, 0xdb, 0x1db, 7, abi.BadAddr}},
		E(pc["set_flags"], 1, 4, 3), E(pc["set_flags"], 2, 2, 0644), R(pc["set_flags"], 1, 1),
	})
	args := nm.Args(tr, 0)
	if len(args) != 3 || args[0].Text != "{ro=1, mode=5, ...3 more}" || len(args[0].Fields) != 2 || args[0].More != 3 {
		t.Fatalf("args %+v", args)
	}
	nm.MaxFields = 5
	if a := nm.Args(tr, 0)[0]; a.Text != "{ro=1, mode=5, delta=-3, tail=7, inner=<fault>}" || a.More != 0 {
		t.Fatalf("all five fields: %+v", a)
	}
}

// BuildRecords and StreamRecords over records decoded beforehand (as a
// follow-mode task's stream is) give Build's tree and Stream's calls.
func TestBuildRecords(t *testing.T) {
	opt := abi.Options{Format: abi.FormatV2, PCMin: 1, PCMax: ^uint64(0)}
	for _, recs := range [][]rec{
		{E(A, 0, 4, 1), E(A, 1, 8, 2), E(B, 0, 0, 0), R(B, 0, 0), E(C, 0, 4, 3), R(C, 4, 0), R(A, 8, 5), E(B, 0, 0, 0), R(B, 4, 1)},
		{E(A, 0, 4, 1), R(B, 4, 7), R(A, 4, 0), R(C, 4, 1)},
		{E(A, 0, 4, 1), E(B, 0, 0, 0)},
	} {
		a := v2area(recs)
		d := abi.NewDecoder(a, opt)
		var decoded []abi.Record
		for d.Next() {
			r := *d.Record()
			r.Values = slices.Clone(r.Values)
			decoded = append(decoded, r)
		}
		built := Build(a, abi.NewDecoder(a, opt), Options{})
		got := BuildRecords(a, decoded, d.Summary(), Options{})
		if shape(got) != shape(built) || got.Exact != built.Exact || got.Open != built.Open || !slices.Equal(got.Notes, built.Notes) {
			t.Fatalf("BuildRecords %s (exact %v, open %d), Build %s", shape(got), got.Exact, got.Open, shape(built))
		}
		for i := range got.Calls {
			if !slices.Equal(got.Words(&got.Calls[i].Ret), built.Words(&built.Calls[i].Ret)) {
				t.Fatalf("call %d: return words differ", i)
			}
		}
		var streamed []string
		end, err := StreamRecords(a, decoded, d.Summary(), Options{Markers: true}, func(s *Tree) error {
			streamed = append(streamed, shape(s))
			return nil
		})
		if err != nil || end.Count != len(built.Calls) || len(streamed) == 0 {
			t.Fatalf("StreamRecords: %v, %d calls of %d, %q", err, end.Count, len(built.Calls), streamed)
		}
	}
}
