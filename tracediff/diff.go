package tracediff

import (
	"sort"
	"strconv"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/internal/bitwidth"
)

// Task is the call tree of one traced task, with what names its calls.
type Task struct {
	Label string // how the output names it: the trace's file, its command
	// Tree is nil for a task the trace lacks, when the tasks of two
	// traces are paired by their place (Label then says which).
	Tree  *calls.Tree
	Namer *calls.Namer
}

// Options tune Compare.
type Options struct {
	// Addresses compares kernel addresses and pointer values exactly.
	// By default two pointers are equal when both are NULL, both the same
	// ERR_PTR, or both valid: addresses change from run to run.
	Addresses bool
	// Top is how many differences are rendered (0: all of them).
	Top int
	// MaxEdits bounds the exact alignment of one list of sibling calls;
	// lists further apart are aligned greedily (default 2000).
	MaxEdits int
	// Skip, when set, leaves out the calls of the functions it names,
	// callees included, on both sides: page faults, for one, come and go
	// with the state of memory, not with what the program did.
	Skip func(name string) bool
}

// Result is the comparison of two traces, task by task.
type Result struct {
	Equal bool         `json:"equal"`
	Tasks []TaskResult `json:"tasks"`
}

// TaskResult compares one task of A with its counterpart in B.
type TaskResult struct {
	A, B string `json:"-"`
	// Calls of each side, aligned pairs, calls only on one side, and the
	// aligned pairs whose arguments or returns differ.
	CallsA    int `json:"calls_a"`
	CallsB    int `json:"calls_b"`
	Aligned   int `json:"aligned"`
	OnlyA     int `json:"only_a"`
	OnlyB     int `json:"only_b"`
	Differing int `json:"differing"`
	// Greedy counts sibling lists too far apart to align exactly.
	Greedy int `json:"greedy,omitempty"`
	// Skipped counts the calls Options.Skip left out, callees included.
	SkippedA int `json:"skipped_a,omitempty"`
	SkippedB int `json:"skipped_b,omitempty"`
	// Divergences are places where the sequences of calls differ: the
	// first divergence in call order, then the others with the most calls
	// on one side only first. At most Options.Top of them;
	// DivergenceCount says how many there are.
	Divergences     []Divergence `json:"divergences"`
	DivergenceCount int          `json:"divergence_count"`
	// Differences are the aligned calls whose values differ, most telling
	// first: an errno on one side only (or another errno), then other
	// returns, then arguments; within each, nearer the system call first,
	// then more values differing. At most Options.Top of them.
	Differences []Difference `json:"differences"`
}

// CallRef names one call of one side.
type CallRef struct {
	Index int    `json:"index"`
	Seq   uint32 `json:"seq"`
	Func  string `json:"func"`
	// Text is the call as show prints it on one line (fields shortened).
	Text string `json:"text,omitempty"`
}

// Divergence is where the call sequences part: inside Path (the calls
// from the root-most frame down to the common parent, empty at the top
// level), after the common call After, A made the calls OnlyA and B the
// calls OnlyB (the first few of each; the counts say how many).
type Divergence struct {
	Path   []string  `json:"path"`
	After  *CallRef  `json:"after,omitempty"`
	OnlyA  []CallRef `json:"only_a"`
	OnlyB  []CallRef `json:"only_b"`
	CountA int       `json:"count_a"`
	CountB int       `json:"count_b"`
	// Calls counts the calls on one side only here, callees included.
	Calls int `json:"calls"`
}

// Kind says what differs in an aligned pair.
type Kind uint8

const (
	KindErrno  Kind = iota // one side returned an errno or ERR_PTR, the other did not or another
	KindReturn             // the return values differ otherwise
	KindArgs               // only arguments differ
)

func (k Kind) String() string {
	return [...]string{"errno", "return", "args"}[k]
}

// MarshalText names the kind in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Difference is one aligned pair of calls whose values differ.
type Difference struct {
	Kind Kind `json:"kind"`
	// Origin marks an errno difference none of whose callees has one:
	// where the error started, as far as the trace shows.
	Origin bool        `json:"origin,omitempty"`
	Depth  int         `json:"depth"`
	Path   []string    `json:"path"`
	A      CallRef     `json:"a"`
	B      CallRef     `json:"b"`
	Values []ValueDiff `json:"values"`
}

// ValueDiff is one argument, field or return that differs.
type ValueDiff struct {
	Name string `json:"name"` // "count", "how.flags", "ret", "ret.f_mode"
	A    string `json:"a"`
	B    string `json:"b"`
}

// Compare aligns the tasks of a and b, pairing them in order (a task
// without a Tree stands for one its trace lacks), and compares every
// aligned call.
func Compare(a, b []Task, opt Options) *Result {
	if opt.MaxEdits == 0 {
		opt.MaxEdits = 2000
	}
	res := &Result{Equal: true}
	ids := map[string]int32{}
	for i := 0; i < len(a) || i < len(b); i++ {
		var ta, tb *Task
		if i < len(a) {
			ta = &a[i]
		}
		if i < len(b) {
			tb = &b[i]
		}
		tr := compareTask(ta, tb, ids, opt)
		if tr.OnlyA+tr.OnlyB+tr.Differing > 0 {
			res.Equal = false
		}
		res.Tasks = append(res.Tasks, tr)
	}
	return res
}

// empty stands for a task the other trace lacks.
var empty = Task{Tree: &calls.Tree{}, Namer: &calls.Namer{}}

type differ struct {
	a, b   *Task
	opt    Options
	idA    []int32 // function id of each call
	idB    []int32
	tr     *TaskResult
	diffs  []rawDiff
	divs   []rawDiv
	slotsA map[slotKey]calls.Slots
}

type slotKey struct {
	pc  uint64
	idx uint8
	ret bool
	n   uint16
}

// rawDiff is a differing pair before it is rendered.
type rawDiff struct {
	a, b   int32
	kind   Kind
	depth  int32
	n      int32 // values that differ
	what   []valueAt
	origin bool
}

// rawDiv is a divergence before it is rendered: in the children of
// parent (of A), after call after, the calls onlyA and onlyB.
type rawDiv struct {
	parent       int
	after        int32
	onlyA, onlyB []int32
	calls        int // calls on one side only, callees included
}

// valueAt locates one differing word: the argument (its position among
// the call's non-marker values, -1 for the return) and the word (-1: the
// pointer itself).
type valueAt struct{ arg, word int }

func compareTask(a, b *Task, ids map[string]int32, opt Options) TaskResult {
	if a == nil {
		a = &empty
	} else if a.Tree == nil {
		a = &Task{Label: a.Label, Tree: empty.Tree, Namer: empty.Namer}
	}
	if b == nil {
		b = &empty
	} else if b.Tree == nil {
		b = &Task{Label: b.Label, Tree: empty.Tree, Namer: empty.Namer}
	}
	d := &differ{a: a, b: b, opt: opt, slotsA: map[slotKey]calls.Slots{}}
	d.tr = &TaskResult{A: a.Label, B: b.Label, CallsA: len(a.Tree.Calls), CallsB: len(b.Tree.Calls), Divergences: []Divergence{}}
	d.idA = funcIDs(a, ids)
	d.idB = funcIDs(b, ids)
	d.walk(-1, -1)
	d.origins()
	sort.SliceStable(d.diffs, func(i, j int) bool {
		x, y := &d.diffs[i], &d.diffs[j]
		if x.kind != y.kind {
			return x.kind < y.kind
		}
		if x.depth != y.depth {
			return x.depth < y.depth
		}
		if x.n != y.n {
			return x.n > y.n
		}
		return x.a < y.a
	})
	d.tr.DivergenceCount = len(d.divs)
	if len(d.divs) > 1 {
		rest := d.divs[1:]
		sort.SliceStable(rest, func(i, j int) bool { return rest[i].calls > rest[j].calls })
	}
	for k := range d.divs {
		if opt.Top > 0 && k == opt.Top {
			break
		}
		d.tr.Divergences = append(d.tr.Divergences, d.divergence(&d.divs[k]))
	}
	d.tr.Differing = len(d.diffs)
	top := d.diffs
	if opt.Top > 0 && len(top) > opt.Top {
		top = top[:opt.Top]
	}
	d.tr.Differences = []Difference{}
	for i := range top {
		d.tr.Differences = append(d.tr.Differences, d.render(&top[i]))
	}
	return *d.tr
}

// origins marks the errno differences with no errno difference among
// their callees.
func (d *differ) origins() {
	errCalls := map[int32]bool{}
	for i := range d.diffs {
		if d.diffs[i].kind == KindErrno {
			errCalls[d.diffs[i].a] = true
		}
	}
	below := map[int32]bool{} // calls with an errno difference under them
	for x := range errCalls {
		for p := d.a.Tree.Calls[x].Parent; p >= 0 && !below[p]; p = d.a.Tree.Calls[p].Parent {
			below[p] = true
		}
	}
	for i := range d.diffs {
		r := &d.diffs[i]
		r.origin = r.kind == KindErrno && !below[r.a]
	}
}

// funcIDs names every call by an id shared by both traces: the
// function's name, or its link-time address when it has none.
func funcIDs(t *Task, ids map[string]int32) []int32 {
	out := make([]int32, len(t.Tree.Calls))
	byPC := map[uint64]int32{}
	for i := range t.Tree.Calls {
		pc := t.Tree.Calls[i].PC
		id, ok := byPC[pc]
		if !ok {
			name := funcName(t, pc)
			if id, ok = ids[name]; !ok {
				id = int32(len(ids))
				ids[name] = id
			}
			byPC[pc] = id
		}
		out[i] = id
	}
	return out
}

func funcName(t *Task, pc uint64) string {
	if n := t.Namer.Func(pc).Name; n != "" {
		return n
	}
	return "0x" + strconv.FormatUint(t.Namer.Space.Link(pc), 16)
}

// children lists the children of call i that are not skipped, and
// counts the calls skipped.
func (d *differ) children(t *Task, i int, skipped *int) []int32 {
	var out []int32
	t.Tree.Children(i, func(j int) {
		if d.opt.Skip != nil && d.opt.Skip(funcName(t, t.Tree.Calls[j].PC)) {
			*skipped += int(t.Tree.Calls[j].End) - j
			return
		}
		out = append(out, int32(j))
	})
	return out
}

// walk aligns the children of the aligned pair (pa, pb) and descends
// into every aligned pair, in call order.
func (d *differ) walk(pa, pb int) {
	ca, cb := d.children(d.a, pa, &d.tr.SkippedA), d.children(d.b, pb, &d.tr.SkippedB)
	sa, sb := make([]int32, len(ca)), make([]int32, len(cb))
	for k, i := range ca {
		sa[k] = d.idA[i]
	}
	for k, j := range cb {
		sb[k] = d.idB[j]
	}
	pairs, exact := align(sa, sb, d.opt.MaxEdits)
	if !exact {
		d.tr.Greedy++
	}
	var last *pair
	for k := 0; k < len(pairs); k++ {
		q := pairs[k]
		if q.a >= 0 && q.b >= 0 {
			x, y := int(ca[q.a]), int(cb[q.b])
			d.tr.Aligned++
			d.compare(x, y)
			d.walk(x, y)
			last = &pairs[k]
			continue
		}
		// A run of calls on one side only.
		e := k
		for e < len(pairs) && (pairs[e].a < 0 || pairs[e].b < 0) {
			e++
		}
		var onlyA, onlyB []int32
		for _, r := range pairs[k:e] {
			if r.a >= 0 {
				onlyA = append(onlyA, ca[r.a])
				c := &d.a.Tree.Calls[ca[r.a]]
				d.tr.OnlyA += int(c.End) - int(ca[r.a])
			} else {
				onlyB = append(onlyB, cb[r.b])
				c := &d.b.Tree.Calls[cb[r.b]]
				d.tr.OnlyB += int(c.End) - int(cb[r.b])
			}
		}
		rd := rawDiv{parent: pa, after: -1, onlyA: onlyA, onlyB: onlyB}
		if last != nil {
			rd.after = ca[last.a]
		}
		for _, i := range onlyA {
			rd.calls += int(d.a.Tree.Calls[i].End) - int(i)
		}
		for _, j := range onlyB {
			rd.calls += int(d.b.Tree.Calls[j].End) - int(j)
		}
		d.divs = append(d.divs, rd)
		k = e - 1
	}
}

// maxShown is how many calls of each side a divergence lists.
const maxShown = 3

func (d *differ) divergence(r *rawDiv) Divergence {
	dv := Divergence{Path: []string{}, OnlyA: []CallRef{}, OnlyB: []CallRef{}, CountA: len(r.onlyA), CountB: len(r.onlyB), Calls: r.calls}
	if r.parent >= 0 {
		dv.Path = path(d.a, r.parent)
	}
	if r.after >= 0 {
		ref := d.ref(d.a, int(r.after), true)
		dv.After = &ref
	}
	for _, i := range head(r.onlyA) {
		dv.OnlyA = append(dv.OnlyA, d.ref(d.a, int(i), true))
	}
	for _, j := range head(r.onlyB) {
		dv.OnlyB = append(dv.OnlyB, d.ref(d.b, int(j), true))
	}
	return dv
}

func head(s []int32) []int32 {
	if len(s) > maxShown {
		return s[:maxShown]
	}
	return s
}

func path(t *Task, i int) []string {
	var ids []int
	for j := i; j >= 0; j = int(t.Tree.Calls[j].Parent) {
		ids = append(ids, j)
	}
	out := make([]string, len(ids))
	for k, j := range ids {
		out[len(ids)-1-k] = funcName(t, t.Tree.Calls[j].PC)
	}
	return out
}

func (d *differ) slots(i int, v *calls.Value, ret bool) calls.Slots {
	t := d.a.Tree
	k := slotKey{t.Calls[i].PC, v.Idx, ret, uint16(len(t.Words(v)))}
	s, ok := d.slotsA[k]
	if !ok {
		s = d.a.Namer.SlotsOf(t, i, v, ret)
		d.slotsA[k] = s
	}
	return s
}

// compare records the values in which aligned calls x (of A) and y (of
// B) differ.
func (d *differ) compare(x, y int) {
	ta, tb := d.a.Tree, d.b.Tree
	var what []valueAt
	argsA, argsB := ta.Args(x), tb.Args(y)
	n := 0
	ib := 0
	for ia := range argsA {
		va := &argsA[ia]
		if va.Marker() {
			continue
		}
		for ib < len(argsB) && argsB[ib].Marker() {
			ib++
		}
		if ib >= len(argsB) {
			what = append(what, valueAt{n, -2})
			n++
			continue
		}
		what = d.values(what, x, va, &argsB[ib], n, false)
		ib++
		n++
	}
	for ; ib < len(argsB); ib++ {
		if !argsB[ib].Marker() {
			what = append(what, valueAt{n, -2})
			n++
		}
	}
	ca, cb := &ta.Calls[x], &tb.Calls[y]
	hasA, hasB := ca.HasRet && !ca.Ret.Marker(), cb.HasRet && !cb.Ret.Marker()
	retDiff := false
	switch {
	case hasA && hasB:
		k := len(what)
		what = d.values(what, x, &ca.Ret, &cb.Ret, -1, true)
		retDiff = len(what) > k
	case hasA != hasB:
		what = append(what, valueAt{-1, -2})
		retDiff = true
	}
	if len(what) == 0 {
		return
	}
	kind := KindArgs
	if retDiff {
		kind = KindReturn
		if ea, eb := d.errno(d.a, x), d.errno(d.b, y); ea != eb {
			kind = KindErrno
		}
	}
	d.diffs = append(d.diffs, rawDiff{a: int32(x), b: int32(y), kind: kind, depth: ca.Depth, n: int32(len(what)), what: what})
}

func (d *differ) errno(t *Task, i int) int64 {
	if !mayBeErr(t.Tree, &t.Tree.Calls[i].Ret) {
		return 0 // no need to render it
	}
	r, ok := t.Namer.Ret(t.Tree, i)
	if !ok {
		return 0
	}
	return r.Errno
}

// values appends where va and vb differ, read by A's slots.
func (d *differ) values(what []valueAt, x int, va, vb *calls.Value, arg int, ret bool) []valueAt {
	wa, wb := d.a.Tree.Words(va), d.b.Tree.Words(vb)
	if len(wa) != len(wb) {
		return append(what, valueAt{arg, -2})
	}
	s := d.slots(x, va, ret)
	if s.PtrIsValue && !d.same(va.Ptr, vb.Ptr, true) {
		return append(what, valueAt{arg, -1}) // the fields were read from other objects, or not at all
	}
	for k := range wa {
		sl := s.Words[k]
		if !d.same(wa[k]&bitwidth.Mask(uint(sl.Width)), wb[k]&bitwidth.Mask(uint(sl.Width)), sl.Pointer) {
			what = append(what, valueAt{arg, k})
		}
	}
	return what
}

// same compares two words; addresses by their class unless asked.
func (d *differ) same(x, y uint64, pointer bool) bool {
	if x == y {
		return true
	}
	if d.opt.Addresses {
		return false
	}
	if pointer {
		return x != 0 && y != 0 && !abi.IsErrPtr(x) && !abi.IsErrPtr(y) && x != abi.BadAddr && y != abi.BadAddr
	}
	return calls.KernelAddress(x) && calls.KernelAddress(y)
}

// mayBeErr tells whether a return value could render as an errno or an
// ERR_PTR: a word that is -1 to -4095 at its size, or an ERR_PTR pointer.
func mayBeErr(t *calls.Tree, v *calls.Value) bool {
	if abi.IsErrPtr(v.Ptr) {
		return true
	}
	w := t.Words(v)
	if len(w) == 0 {
		return false
	}
	x := bitwidth.SignExtend(w[0], uint(v.Size))
	return x < 0 && x >= -abi.MaxErrno
}
