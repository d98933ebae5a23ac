package signal

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/bitwidth"
	"github.com/kcovdf/kcovdf/model"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		w       uint64
		typ     ValueType
		ret     bool
		class   Class
		payload uint16
	}{
		{0, ValueType{}, false, ClassZero, 0},
		{3, ValueType{}, false, ClassSmall, 3},
		{255, ValueType{}, false, ClassSmall, 255},
		{256, ValueType{}, false, ClassLog, 9<<2 | 0},
		{0x8000, ValueType{}, false, ClassLog, 16<<2 | 0},
		{0x8001, ValueType{}, false, ClassLog, 16<<2 | 1},
		{0x8241, ValueType{}, false, ClassLog, 16<<2 | 3},
		{0xffffff9c, ValueType{Size: 4}, false, ClassSmallNeg, 100}, // dfd = AT_FDCWD
		{0xffffff9c, ValueType{Size: 8}, false, ClassLog, 32<<2 | 3},
		{0xfffffffe, ValueType{Size: 4}, true, ClassErrno, 2},
		{^uint64(1), ValueType{Size: 8}, true, ClassErrno, 2},
		{^uint64(1), ValueType{Size: 8}, false, ClassSmallNeg, 2},
		{^uint64(1), ValueType{Kind: Pointer}, true, ClassErrPtr, 2},
		{^uint64(1), ValueType{Kind: Unsigned}, false, ClassLog, 64<<2 | 3},
		{^uint64(999), ValueType{Kind: Signed, Size: 8}, false, ClassLogNeg, 10<<2 | 3},
		{^uint64(999), ValueType{Kind: Signed, Size: 8}, true, ClassErrno, 1000},
		{^uint64(4999), ValueType{Kind: Signed, Size: 8}, true, ClassLogNeg, 13<<2 | 3},
		{1 << 63, ValueType{Kind: Signed}, false, ClassLogNeg, 64<<2 | 0},
		{0xffff888000bbfe78, ValueType{}, false, ClassKernelPtr, 0},
		{0xffff888000bbfe78, ValueType{Kind: Pointer}, false, ClassKernelPtr, 0},
		{0x7fffffa8df80, ValueType{}, false, ClassUserPtr, 0},
		{0x7fffffa8df80, ValueType{Kind: Pointer}, false, ClassUserPtr, 0},
		{0, ValueType{Kind: Pointer}, false, ClassNull, 0},
		{0x1ff, ValueType{Size: 1}, false, ClassSmallNeg, 1}, // only the value's bytes: 0xff
		{0x80, ValueType{Kind: Signed, Size: 1}, false, ClassSmallNeg, 128},
		{0x80, ValueType{Kind: Unsigned, Size: 1}, false, ClassSmall, 128},
	} {
		class, p := classify(c.w, c.typ, c.ret)
		if class != c.class || p != c.payload {
			t.Errorf("classify(%#x, %+v, ret=%v) = %v %#x, want %v %#x", c.w, c.typ, c.ret, class, p, c.class, c.payload)
		}
	}
}

func TestFeatureEncoding(t *testing.T) {
	s := MakeSlot(0x811a2480, false, 2, 0)
	f := s.Feature(ClassLog, 16<<2)
	if f != 0x811a2480_0201_3040 {
		t.Fatalf("feature %#x", uint64(f))
	}
	if f.Slot() != s || s.Func() != 0x811a2480 || s.Arg() != 2 || s.Field() != 0 || s.Ret() || f.Class() != ClassLog {
		t.Fatalf("fields of %#x: %v %v %v %v", uint64(f), s.Func(), s.Arg(), s.Field(), f.Class())
	}
	if got := f.String(); got != "0x811a2480:arg2.0=log(2^15,pop1)" {
		t.Fatalf("String %q", got)
	}
	r := MakeSlot(1, true, 0, -1).Feature(ClassErrno, 2)
	if r.String() != "0x1:ret=errno(2)" || !r.Slot().Ret() || r.Slot().Field() != -1 {
		t.Fatalf("%v", r)
	}
}

const testPC = 0xffffffff811a2480

func rec(k abi.Kind, arg, size uint8, ptr uint64, vals ...uint64) abi.Record {
	return abi.Record{Kind: k, PC: testPC, ArgIdx: arg, Size: size, Ptr: ptr, Values: vals}
}

func strs(s Signal) []string {
	var out []string
	for _, f := range s.Features() {
		out = append(out, f.String())
	}
	return out
}

func TestExtract(t *testing.T) {
	const ptr = 0xffff888000bbfed0
	got := strs(Extract(
		rec(abi.KindEntry, 0, 0, 0, 0), // marker: no parameters
		rec(abi.KindEntry, 1, 8, ptr, 0x8000, 0, abi.BadAddr),
		rec(abi.KindEntry, 2, 8, 0, 0, 0),                               // NULL struct: no fields
		rec(abi.KindEntry, 3, 8, ^uint64(11), abi.BadAddr, abi.BadAddr), // ERR_PTR(-ENOMEM)
		rec(abi.KindReturn, 0, 4, 0, 0xfffffffe),
		rec(abi.KindCompare, 0, 8, 0, 1, 2), // v3 comparisons give nothing
	))
	want := []string{
		"0x811a2480:arg0=called",
		"0x811a2480:arg1=kernel-ptr",
		"0x811a2480:arg1.0=log(2^15,pop1)",
		"0x811a2480:arg1.1=zero",
		"0x811a2480:arg1.2=unreadable",
		"0x811a2480:arg2=null",
		"0x811a2480:arg3=err-ptr(12)",
		"0x811a2480:ret=errno(2)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestExtractRelations(t *testing.T) {
	e := NewExtractor(Options{Relations: true})
	r := rec(abi.KindEntry, 0, 8, 0xffff888000001000, 5, 5, 7, 0xffff888000002000)
	e.Add(&r)
	var rels []string
	for _, f := range e.Signal().Features() {
		if f.Class() == ClassRelation {
			rels = append(rels, f.String())
		}
	}
	// Field 3 is a pointer: it is compared with nothing.
	want := []string{"0x811a2480:arg0.0=rel(<2)", "0x811a2480:arg0.0=rel(==1)", "0x811a2480:arg0.1=rel(<2)"}
	if !slices.Equal(rels, want) {
		t.Fatalf("relations %q, want %q", rels, want)
	}
	// Signed fields compare as signed.
	e = NewExtractor(Options{Relations: true, Types: fixedTypes{fields: []ValueType{{Signed, 4}, {Signed, 4}}}})
	r = rec(abi.KindEntry, 0, 8, 0xffff888000001000, 0xffffffff, 1)
	e.Add(&r)
	if !e.Signal().Has(MakeSlot(0x811a2480, false, 0, 0).Feature(ClassRelation, RelLess<<8|1)) {
		t.Fatalf("-1 < 1 as signed: %q", strs(e.Signal()))
	}
}

type fixedTypes struct {
	value  ValueType
	fields []ValueType
}

func (f fixedTypes) Types(uint64, bool, uint8) (ValueType, []ValueType) { return f.value, f.fields }

// TestExtractBounded: a loop over many values adds at most MaxPerSlot
// features to its slot, and a new (pc, value) pair counts once.
func TestExtractBounded(t *testing.T) {
	e := NewExtractor(Options{})
	for i := 0; i < 1000; i++ {
		r := rec(abi.KindEntry, 0, 8, 0, uint64(i))
		e.Add(&r)
		e.Add(&r)
	}
	if e.Len() != DefaultMaxPerSlot || e.Capped != 1000-DefaultMaxPerSlot {
		t.Fatalf("len %d capped %d", e.Len(), e.Capped)
	}
	e = NewExtractor(Options{MaxPerSlot: -1})
	for i := 0; i < 1<<16; i++ {
		r := rec(abi.KindEntry, 0, 8, 0, uint64(i))
		e.Add(&r)
	}
	// 0, 1…255 exactly, then bit lengths 9…16 with 4 popcount buckets.
	if want := 1 + 255 + 8*4; e.Len() != want {
		t.Fatalf("unbounded: %d features, want %d", e.Len(), want)
	}
}

// TestExtractStableAcrossBoots: the same records at another KASLR offset,
// with that offset given, make the same signal.
func TestExtractStableAcrossBoots(t *testing.T) {
	rs := []abi.Record{rec(abi.KindEntry, 1, 4, 0, 3), rec(abi.KindReturn, 0, 8, 0, 0)}
	a := Extract(rs...)
	const slide = 0x2e00000
	for i := range rs {
		rs[i].PC += slide
	}
	b := NewExtractor(Options{Slide: slide})
	b.AddRecords(rs)
	if !a.Equal(b.Signal()) {
		t.Fatalf("%q vs %q", strs(a), strs(b.Signal()))
	}
	id := NewExtractor(Options{Slide: slide, FuncID: func(uint64) uint32 { return 7 }})
	id.AddRecords(rs)
	for _, f := range id.Signal().Features() {
		if f.Slot().Func() != 7 {
			t.Fatalf("FuncID ignored: %v", f)
		}
	}
}

func randSignal(r *rand.Rand) Signal {
	n := r.IntN(50)
	fs := make([]Feature, n)
	for i := range fs {
		fs[i] = Feature(r.Uint64N(200)) << uint(r.IntN(3)*20)
	}
	return FromFeatures(fs...)
}

func subset(a, b Signal) bool { return b.Diff(a).Empty() } // a ⊆ b

// TestLaws: Merge is a union, Diff a difference, Minimize keeps the union.
func TestLaws(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		a, b, c := randSignal(r), randSignal(r), randSignal(r)
		ab := a.Merge(b)
		switch {
		case !ab.Equal(b.Merge(a)):
			t.Fatal("Merge not commutative")
		case !a.Merge(a).Equal(a):
			t.Fatal("Merge not idempotent")
		case !ab.Merge(c).Equal(a.Merge(b.Merge(c))):
			t.Fatal("Merge not associative")
		case !subset(a, ab) || !subset(b, ab):
			t.Fatal("Merge lost features")
		case !subset(a.Diff(ab), b):
			t.Fatal("Diff(a, Merge(a, b)) is not within b")
		case !a.Diff(ab).Equal(a.Diff(b)):
			t.Fatal("Diff(a, Merge(a, b)) != Diff(a, b)")
		case !a.Merge(a.Diff(b)).Equal(ab):
			t.Fatal("a + Diff(a, b) != Merge(a, b)")
		case !a.Diff(a).Empty():
			t.Fatal("Diff(a, a) not empty")
		case a.Diff(b).Intersect(a).Len() != 0:
			t.Fatal("Diff(a, b) meets a")
		case ab.Len() != a.Len()+b.Len()-a.Intersect(b).Len():
			t.Fatal("|a ∪ b| != |a| + |b| - |a ∩ b|")
		}
		corpus := []Signal{a, b, c, ab, randSignal(r)}
		keep := Minimize(corpus)
		var all, kept Signal
		for _, s := range corpus {
			all = all.Merge(s)
		}
		for _, k := range keep {
			kept = kept.Merge(corpus[k])
		}
		if !kept.Equal(all) || !slices.IsSorted(keep) || len(keep) > len(corpus) {
			t.Fatalf("Minimize kept %v: union %d of %d", keep, kept.Len(), all.Len())
		}
		for _, k := range keep { // every kept input was needed when taken
			if corpus[k].Empty() {
				t.Fatalf("Minimize kept an empty input")
			}
		}
		for _, s := range []Signal{a, ab} {
			bin, _ := s.MarshalBinary()
			js, _ := s.MarshalJSON()
			for _, enc := range [][]byte{bin, js} {
				got, err := Parse(enc)
				if err != nil || !got.Equal(s) {
					t.Fatalf("round trip of %d features: %v", s.Len(), err)
				}
			}
		}
	}
}

func TestMinimizeDropsRedundant(t *testing.T) {
	a, b := FromFeatures(1, 2, 3), FromFeatures(2, 3)
	if got := Minimize([]Signal{b, a, {}, FromFeatures(3)}); !slices.Equal(got, []int{1}) {
		t.Fatalf("Minimize = %v, want [1]", got)
	}
}

func TestParseErrors(t *testing.T) {
	good, _ := FromFeatures(1, 300, 1<<40).MarshalBinary()
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{nil, "no KCDFSIG magic"},
		{[]byte("hello world"), "no KCDFSIG magic"},
		{append([]byte(binaryMagic), 9), "signal version 9"},
		{good[:len(good)-1], "bad varint"},
		{append(slices.Clone(good), 0), "1 bytes after the last feature"},
		{[]byte(binaryMagic + "\x01\x05\x01\x00"), "5 features announced in 2 bytes"},
		{[]byte(binaryMagic + "\x01\x02\x01\x00"), "repeats the one before"},
		{[]byte(`{"format":"x"}`), `format "x"`},
		{[]byte(`{"format":"kcovdf-signal","version":1,"features":["zz"]}`), `"zz" is no number`},
		{[]byte(`{`), "unexpected end of JSON"},
	} {
		_, err := Parse(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): %v, want %q", c.in, err, c.want)
		}
	}
}

func TestBinaryForm(t *testing.T) {
	b, _ := FromFeatures(5, 1, 300).MarshalBinary()
	want := []byte("KCDFSIG\x01\x03\x01\x04\xa7\x02") // 1, +4, +295
	if !bytes.Equal(b, want) {
		t.Fatalf("%q, want %q", b, want)
	}
	j, _ := FromFeatures(5, 1).MarshalJSON()
	if string(j) != `{"format":"kcovdf-signal","version":1,"features":["0x1","0x5"]}` {
		t.Fatalf("%s", j)
	}
}

// reference extracts as the encoding says, with none of the Extractor's
// caches or plans: a map, every value classified, Types asked for every
// record, relations compared field by field.
func reference(rs []abi.Record, opt Options) Signal {
	set := map[Feature]bool{}
	perSlot := map[Slot]int{}
	max := opt.MaxPerSlot
	if max == 0 {
		max = DefaultMaxPerSlot
	}
	maxFields := opt.MaxFields
	if maxFields <= 0 {
		maxFields = DefaultMaxFields
	}
	maxFields = min(maxFields, maxFieldSlots)
	add := func(f Feature) {
		if set[f] {
			return
		}
		if max > 0 && perSlot[f.Slot()] >= max {
			return
		}
		perSlot[f.Slot()]++
		set[f] = true
	}
	for _, r := range rs {
		if r.Kind != abi.KindEntry && r.Kind != abi.KindReturn {
			continue
		}
		ret := r.Kind == abi.KindReturn
		arg := r.ArgIdx & 0x7f
		if ret {
			arg = 0
		}
		link := r.PC - opt.Slide
		fn := uint32(link)
		if opt.FuncID != nil {
			fn = opt.FuncID(link)
		}
		var vt ValueType
		var fts []ValueType
		if opt.Types != nil {
			vt, fts = opt.Types.Types(link, ret, arg)
		}
		base := MakeSlot(fn, ret, arg, -1)
		switch {
		case r.Size == 0 || len(r.Values) == 0:
			add(base.Feature(ClassCalled, 0))
		case len(r.Values) == 1 && fts == nil:
			if vt.Size == 0 {
				vt.Size = r.Size
			}
			add(base.Feature(classify(r.Values[0], vt, ret)))
		default:
			c, p := classify(r.Ptr, ValueType{Kind: Pointer}, ret)
			add(base.Feature(c, p))
			if c == ClassNull || c == ClassErrPtr {
				continue
			}
			n := min(len(r.Values), maxFields)
			typeOf := func(i int) ValueType {
				if i < len(fts) {
					return fts[i]
				}
				return ValueType{}
			}
			classes := make([]Class, n)
			for i, w := range r.Values[:n] {
				f := (base + Slot(i+1)).Feature(ClassUnreadable, 0)
				if w != abi.BadAddr {
					f = (base + Slot(i+1)).Feature(classify(w, typeOf(i), false))
				}
				classes[i] = f.Class()
				add(f)
			}
			if !opt.Relations {
				continue
			}
			m := min(n, RelationFields)
			for i := 0; i < m; i++ {
				for j := i + 1; j < m; j++ {
					if classes[i] > ClassErrno || classes[j] > ClassErrno {
						continue
					}
					a, b := r.Values[i], r.Values[j]
					less, equal := a < b, a == b
					if ti, tj := typeOf(i), typeOf(j); ti.Kind == Signed && tj.Kind == Signed {
						x, y := bitwidth.SignExtend(a, fieldSize(ti)), bitwidth.SignExtend(b, fieldSize(tj))
						less, equal = x < y, x == y
					}
					op := uint16(RelGreater)
					switch {
					case less:
						op = RelLess
					case equal:
						op = RelEqual
					}
					add((base + Slot(i+1)).Feature(ClassRelation, op<<8|uint16(j)))
				}
			}
		}
	}
	var fs []Feature
	for f := range set {
		fs = append(fs, f)
	}
	return FromFeatures(fs...)
}

// fieldSize is a field's size in bytes: 8 when its type says none.
func fieldSize(t ValueType) uint {
	if t.Size == 0 || t.Size > 8 {
		return 8
	}
	return uint(t.Size)
}

// simRecords decodes a simulated trace of the model's default mix.
func simRecords(t *testing.T, words int) []abi.Record {
	cfg := model.DefaultSimConfig()
	cfg.Words = words
	res, err := model.Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	table, _ := abi.TableFromLayout(res.Layout, 0)
	d := abi.NewDecoder(res.Area, abi.Options{Format: abi.FormatV1, Table: table})
	var rs []abi.Record
	for d.Next() {
		rs = append(rs, *d.Record())
	}
	return rs
}

// TestExtractMatchesReference: the caches that make extraction fast
// change nothing, on a simulated trace of the default mix.
func TestExtractMatchesReference(t *testing.T) {
	rs := simRecords(t, 1<<18)
	// Each record twice, and the trace twice, so that the caches hit.
	var twice []abi.Record
	for _, r := range rs {
		twice = append(twice, r, r)
	}
	twice = append(twice, rs...)
	for _, opt := range []Options{{}, {MaxPerSlot: -1}, {MaxPerSlot: 3}} {
		e := NewExtractor(opt)
		e.AddRecords(twice)
		got, want := e.Signal(), reference(twice, opt)
		if !got.Equal(want) {
			t.Errorf("%+v: %d features, the reference %d; %d missing, %d extra", opt, got.Len(), want.Len(), got.Diff(want).Len(), want.Diff(got).Len())
		}
		e.Reset()
		e.AddRecords(twice)
		if !e.Signal().Equal(got) {
			t.Errorf("%+v: another signal after Reset", opt)
		}
	}
}

// randomTypes gives each (pc, return or argument) types of its own, drawn
// from a hash of it: every kind and size, structs of typed fields fewer
// or more than the record has, and scalars without a type.
type randomTypes struct{ seed uint64 }

func (t randomTypes) Types(pc uint64, ret bool, arg uint8) (ValueType, []ValueType) {
	h := (pc ^ t.seed) * 0x9E3779B97F4A7C15
	if ret {
		h ^= 0xabcdef
	}
	h = (h ^ uint64(arg)) * 0xff51afd7ed558ccd
	r := rand.New(rand.NewPCG(h, h>>7))
	pick := func() ValueType {
		return ValueType{Kind: ValueKind(r.IntN(int(Opaque) + 1)), Size: []uint8{0, 1, 2, 4, 8}[r.IntN(5)]}
	}
	value := pick()
	switch r.IntN(4) {
	case 0:
		return ValueType{}, nil
	case 1:
		return value, nil
	case 2:
		return value, []ValueType{}
	}
	fields := make([]ValueType, r.IntN(12))
	for i := range fields {
		fields[i] = pick()
	}
	return value, fields
}

// referenceOptions are the options the extractor's plans and caches must
// not change a feature of.
func referenceOptions() []Options {
	sharedIDs := func(pc uint64) uint32 { return uint32(pc>>4) & 0x3f } // many functions, one id
	return []Options{
		{Relations: true},
		{Relations: true, MaxPerSlot: 3},
		{Relations: true, MaxFields: 3},
		{Types: randomTypes{1}},
		{Types: randomTypes{2}, Relations: true},
		{Types: randomTypes{3}, Relations: true, MaxPerSlot: -1, MaxFields: 6},
		{Types: randomTypes{4}, Relations: true, FuncID: sharedIDs},
		{FuncID: sharedIDs, Relations: true, MaxPerSlot: 2},
		{Types: fixedTypes{value: ValueType{Kind: Signed}}, Relations: true},
		{Types: fixedTypes{fields: []ValueType{{Signed, 4}, {Signed, 1}, {Unsigned, 2}, {Signed, 8}, {Pointer, 8}, {Signed, 0}}}, Relations: true},
	}
}

func checkReference(t *testing.T, what string, rs []abi.Record, opts []Options) {
	t.Helper()
	for k, opt := range opts {
		e := NewExtractor(opt)
		e.AddRecords(rs)
		got, want := e.Signal(), reference(rs, opt)
		if !got.Equal(want) {
			t.Errorf("%s, options %d: %d features, the reference %d; %d missing %q, %d extra %q", what, k, got.Len(), want.Len(),
				got.Diff(want).Len(), strs(got.Diff(want))[:min(3, got.Diff(want).Len())], want.Diff(got).Len(), strs(want.Diff(got))[:min(3, want.Diff(got).Len())])
		}
		e.Reset()
		e.AddRecords(rs)
		if !e.Signal().Equal(got) {
			t.Errorf("%s, options %d: another signal after Reset", what, k)
		}
	}
}

// TestExtractTypedMatchesReference: types, relations, FuncID and the
// bounds give what the plain reference gives, on simulated records (the
// model's default mix, each twice and the trace twice so that the caches
// hit) and on random ones (random sizes, values near the class bounds,
// repeats).
func TestExtractTypedMatchesReference(t *testing.T) {
	var sim []abi.Record
	for _, r := range simRecords(t, 1<<17) {
		sim = append(sim, r, r)
	}
	sim = append(sim, sim...)
	// Every option set: two bugs showed only here, a struct of one field
	// whose hash lost its pointer, and a record of another argument whose
	// pointer cancelled the argument index in the raw cache's key.
	checkReference(t, "simulated", sim, referenceOptions())

	r := rand.New(rand.NewPCG(3, 4))
	word := func() uint64 {
		switch r.IntN(8) {
		case 0:
			return uint64(r.IntN(300))
		case 1:
			return -uint64(r.IntN(70000))
		case 2:
			return 1 << r.IntN(64)
		case 3:
			return 0xffff888000000000 + r.Uint64N(1<<20)
		case 4:
			return abi.BadAddr
		case 5:
			return uint64(r.IntN(4)) // equal fields
		}
		return r.Uint64()
	}
	var rs []abi.Record
	for i := 0; i < 20000; i++ {
		if i > 0 && r.IntN(4) == 0 { // a repeat, for the caches
			rs = append(rs, rs[r.IntN(len(rs))])
			continue
		}
		rec := abi.Record{Kind: abi.Kind(r.IntN(4)), PC: testPC + uint64(r.IntN(40))*16, ArgIdx: uint8(r.IntN(6)), Size: []uint8{0, 1, 2, 4, 8, 16}[r.IntN(6)], Ptr: word()}
		if r.IntN(3) == 0 {
			rec.Ptr = []uint64{0, ^uint64(11), 0x7fffffa8df80}[r.IntN(3)]
		}
		vals := make([]uint64, []int{0, 1, 1, 2, 4, 9, 40}[r.IntN(7)])
		for j := range vals {
			vals[j] = word()
		}
		rec.Values = vals
		rs = append(rs, rec)
	}
	checkReference(t, "random", rs, append(referenceOptions(), Options{}, Options{MaxPerSlot: 5}))
}
