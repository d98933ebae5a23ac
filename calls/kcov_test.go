package calls

import (
	"slices"
	"testing"
)

// alignTree is A{ B{}, B{ C{} } }, A{}, with functions at 0x1000 (A),
// 0x2000 (B), 0x3000 (C) and D at 0x4000, which kcov never shows.
func alignTree() *Tree {
	return &Tree{Calls: []Call{
		{PC: 0x1000, Parent: -1, End: 4, Depth: 0, HasRet: true},
		{PC: 0x2000, Parent: 0, End: 2, Depth: 1, HasRet: true},
		{PC: 0x2000, Parent: 0, End: 4, Depth: 1, HasRet: true},
		{PC: 0x3000, Parent: 2, End: 4, Depth: 2, HasRet: true},
		{PC: 0x1000, Parent: -1, End: 5, Depth: 0, HasRet: true},
	}}
}

// pageFunc: every function is one page; U (0x9000) is not traced, and
// nothing is known below 0x1000.
func pageFunc(pc uint64) (uint64, bool) { return pc &^ 0xfff, pc >= 0x1000 }

func identity(pc uint64) uint64 { return pc }

func TestAlign(t *testing.T) {
	pcs := []uint64{
		0x1010, // A's entry: call 0
		0x1020, // A
		0x2010, // B's entry: call 1
		0x9010, // U, called by B: exact, no call opened or closed around it
		0x2040, // B
		0x1030, // A: B has returned
		0x2010, // B's entry: call 2
		0x9010, // U, called by B before C
		0x3010, // C's entry: call 3
		0x1040, // A: C and B have returned
		0x9020, // U: in A or after it? A returns before the next A
		0x1010, // A's entry: call 4
		0x1050, // A
		0x3020, // C, not open, no later call: the streams disagree
		0x0042, // no function
	}
	cov := Align(alignTree(), pcs, pageFunc, identity)
	wantCall := []int32{0, 0, 1, 1, 1, 0, 2, 2, 3, 0, -1, 4, 4, -1, -1}
	wantExact := []bool{true, true, true, true, true, true, true, true, true, true, false, true, true, false, false}
	if !slices.Equal(cov.Call, wantCall) || !slices.Equal(cov.Exact, wantExact) {
		t.Fatalf("calls %v exact %v\nwant  %v       %v", cov.Call, cov.Exact, wantCall, wantExact)
	}
	want := AlignStats{PCs: 15, Exact: 12, Outside: 3, Entered: 5, Mismatched: 1, Unknown: 1}
	if cov.Stats != want {
		t.Fatalf("stats %+v, want %+v", cov.Stats, want)
	}
	self := cov.Self(5)
	if !slices.Equal(self[1], []int32{2, 3, 4}) || len(self[3]) != 1 {
		t.Fatalf("self %v", self)
	}
}

// TestAlignGuesses: a PC of an untraced function between a callee's last
// PC and its caller's next is placed in the caller, not exactly.
func TestAlignGuesses(t *testing.T) {
	pcs := []uint64{0x1010, 0x2010, 0x9010, 0x1020}
	cov := Align(alignTree(), pcs, pageFunc, identity)
	if cov.Call[2] != 0 || cov.Exact[2] {
		t.Fatalf("U after B: call %d exact %v, want 0, a guess", cov.Call[2], cov.Exact[2])
	}
	// The second B's entry skipped over nothing kcov missed, but the next
	// A passes over C, which kcov shows elsewhere.
	pcs = []uint64{0x1010, 0x2010, 0x1020, 0x2010, 0x1030, 0x3010}
	cov = Align(alignTree(), pcs, pageFunc, identity)
	if cov.Stats.Skipped != 1 || cov.Call[4] != 0 {
		t.Fatalf("stats %+v calls %v", cov.Stats, cov.Call)
	}
}

// TestAlignInvisibleCall: a traced call kcov never shows (D) may have run
// the PCs before it: they are placed in its caller, not exactly.
func TestAlignInvisibleCall(t *testing.T) {
	tr := &Tree{Calls: []Call{
		{PC: 0x1000, Parent: -1, End: 3, HasRet: true},
		{PC: 0x4000, Parent: 0, End: 3, Depth: 1, HasRet: true},
		{PC: 0x2000, Parent: 1, End: 3, Depth: 2, HasRet: true},
	}}
	pcs := []uint64{0x1010, 0x9010, 0x2010, 0x1020}
	cov := Align(tr, pcs, func(pc uint64) (uint64, bool) {
		if pc&^0xfff == 0x4000 {
			return 0, false
		}
		return pageFunc(pc)
	}, identity)
	if !slices.Equal(cov.Call, []int32{0, 0, 2, 0}) || cov.Exact[1] || !cov.Exact[2] {
		t.Fatalf("calls %v exact %v", cov.Call, cov.Exact)
	}
}

// TestAlignNoReturn: PCs after the last event stay in a call that never
// returned.
func TestAlignNoReturn(t *testing.T) {
	tr := &Tree{Calls: []Call{{PC: 0x1000, Parent: -1, End: 1, Flags: NoReturn}}}
	cov := Align(tr, []uint64{0x1010, 0x9010}, pageFunc, identity)
	if !slices.Equal(cov.Call, []int32{0, 0}) || !cov.Exact[1] {
		t.Fatalf("calls %v exact %v", cov.Call, cov.Exact)
	}
	tr.Calls[0].Flags, tr.Calls[0].HasRet = 0, true
	cov = Align(tr, []uint64{0x1010, 0x9010}, pageFunc, identity)
	if cov.Call[1] != -1 {
		t.Fatalf("after a call that returned: %v", cov.Call)
	}
}

// FuzzAlign: any PCs on any tree are placed in a call that exists, or
// none, and the sums add up.
func FuzzAlign(f *testing.F) {
	f.Add([]byte{0x10, 0x10, 0x20, 0x10, 0x90, 0x20, 0x10, 0x21, 0x30, 0x10, 0x92, 0x10, 0x10, 0x50})
	f.Add([]byte{0x30, 0x10, 0x10, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := alignTree()
		pcs := make([]uint64, len(b))
		for i, x := range b {
			// High nibble: the function's page; low: the offset.
			pcs[i] = uint64(x>>4)<<12 | uint64(x&15)<<4
		}
		cov := Align(tr, pcs, pageFunc, identity)
		st := cov.Stats
		if st.Exact+st.Guessed+st.Outside != len(pcs) || st.Entered > len(tr.Calls) {
			t.Fatalf("stats %+v for %d PCs", st, len(pcs))
		}
		for i, c := range cov.Call {
			if c < -1 || int(c) >= len(tr.Calls) {
				t.Fatalf("PC %d placed in call %d (exact %v)", i, c, cov.Exact[i])
			}
		}
	})
}

// BenchmarkAlign: 300,000 calls (A{B{C}} repeated) and 1.5 M PCs, a
// quarter of them in a function dataflow does not trace; figures per PC.
func BenchmarkAlign(b *testing.B) {
	const reps = 100000
	tr := &Tree{Calls: make([]Call, 0, 3*reps)}
	var pcs []uint64
	for r := range reps {
		i := int32(3 * r)
		tr.Calls = append(tr.Calls,
			Call{PC: 0x1000, Parent: -1, End: i + 3, HasRet: true},
			Call{PC: 0x2000, Parent: i, End: i + 3, Depth: 1, HasRet: true},
			Call{PC: 0x3000, Parent: i + 1, End: i + 3, Depth: 2, HasRet: true})
		pcs = append(pcs, 0x1010, 0x1020, 0x2010, 0x2020, 0x9010, 0x3010, 0x3020, 0x9020, 0x3030, 0x2030, 0x9030, 0x2040, 0x1030, 0x9040, 0x1040)
	}
	if st := Align(tr, pcs, pageFunc, identity).Stats; st.Entered != len(tr.Calls) || st.Mismatched != 0 || st.Outside != 0 {
		b.Fatalf("the streams do not line up: %+v", st)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Align(tr, pcs, pageFunc, identity)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(pcs)), "ns/pc")
}
