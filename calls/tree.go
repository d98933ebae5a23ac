package calls

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
)

// Flags say what is known of a call beyond its records.
type Flags uint8

const (
	// NoReturn: no return record closed the call (noreturn function,
	// lost records, a full buffer, or the trace ended inside it).
	NoReturn Flags = 1 << iota
	// NoEntry: the call was seen by its return only (a function without
	// parameters in a trace without the no-parameter marker); where it
	// started is a guess.
	NoEntry
	// Unsure: the nesting around this call was inferred without the
	// markers that make it exact.
	Unsure
	// Errno: the call returned a negative errno or an ERR_PTR.
	Errno
)

// Value is one captured argument or return value. Its words (the field
// values, or one scalar word) stay in the trace: Tree.Words returns them.
// Values are small because a full trace has millions.
type Value struct {
	Idx  uint8 // argument index (entry values)
	Size uint8
	n    uint16
	off  uint32 // in the area, or in Tree.extra when extraBit is set
	// Ptr is the captured pointer: the struct's address for expanded
	// values, the stack slot of a spilled scalar otherwise.
	Ptr uint64
}

const extraBit = 1 << 31

// Words returns a value's words.
func (t *Tree) Words(v *Value) []uint64 {
	if v.off&extraBit != 0 {
		o := v.off &^ extraBit
		return t.extra[o : o+uint32(v.n)]
	}
	return t.area[v.off : v.off+uint32(v.n)]
}

// value makes the Value of a record, pointing into the area when the
// record's values are there (decoders alias them), else into a copy.
func (t *Tree) value(r *abi.Record) Value {
	v := Value{Idx: r.ArgIdx, Size: r.Size, Ptr: r.Ptr, n: uint16(len(r.Values))}
	if len(r.Values) > 0xffff {
		v.n = 0xffff
	}
	o := r.Offset + abi.HeaderWords
	if v.n > 0 && o+int(v.n) <= len(t.area) && o < extraBit && &t.area[o] == &r.Values[0] {
		v.off = uint32(o)
		return v
	}
	v.off = uint32(len(t.extra)) | extraBit
	t.extra = append(t.extra, r.Values[:v.n]...)
	return v
}

// Marker tells whether v is a no-parameter or void marker.
func (v *Value) Marker() bool { return v.Size == 0 }

// Call is one invocation. Calls are kept in entry order (pre-order), so a
// call's descendants are Calls[i+1 : End].
type Call struct {
	PC     uint64 // as traced (runtime address)
	Parent int32  // -1 for a top-level call
	End    int32  // one past the last descendant
	Depth  int32
	Seq    uint32 // sequence number of its first record
	Offset int32  // word offset of its first record
	argLo  int32
	argN   uint16
	Flags  Flags
	HasRet bool
	Ret    Value
}

// Tree is the calls of one task's buffer, or, from Stream, of one
// top-level call and its descendants.
type Tree struct {
	Calls []Call
	// First is the index Calls[0] has among all the calls of the
	// buffer: 0 from Build, the count of calls handed over before from
	// Stream.
	First int
	// Count is how many calls the buffer held: len(Calls) from Build;
	// from Stream, set in the tree it returns at the end.
	Count int
	args  []Value
	area  []uint64 // the trace's words, which values point into
	extra []uint64 // copies of values that were not in the area
	// Exact is true when the trace carries the no-parameter and void
	// markers, so that every call's entry and return are known; without
	// them nesting is a best effort and Unsure calls say where.
	Exact bool
	// Open is how many calls no return closed.
	Open  int
	Notes []string
}

// Args returns a call's entry values in record order.
func (t *Tree) Args(i int) []Value {
	c := &t.Calls[i]
	return t.args[c.argLo : c.argLo+int32(c.argN)]
}

// Children calls f for each direct child of call i (i = -1: the
// top-level calls).
func (t *Tree) Children(i int, f func(j int)) {
	lo, hi := 0, len(t.Calls)
	if i >= 0 {
		lo, hi = i+1, int(t.Calls[i].End)
	}
	for j := lo; j < hi; j = int(t.Calls[j].End) {
		f(j)
	}
}

// builder keeps the open frames while records arrive.
type builder struct {
	t       *Tree
	stack   []int32
	lastIdx int  // argument index of the last entry record, -1 after a return
	inEntry bool // the last record was an entry of stack top
	markers bool
	full    bool
	// each, when set (Stream), takes every top-level call as it closes.
	each func(*Tree) error
	err  error
}

// Options tune Build.
type Options struct {
	// Full tells that the buffer filled up, so unclosed calls are
	// reported as cut off by it.
	Full bool
	// Markers tells that the kernel emits the no-parameter and void
	// markers (our kernel does); when false Build looks for them.
	Markers bool
}

// Build groups the records of d, a decoder of area, into calls.
func Build(area []uint64, d *abi.Decoder, opt Options) *Tree {
	b := &builder{t: &Tree{area: area}, lastIdx: -1, markers: opt.Markers, full: opt.Full}
	for d.Next() {
		b.add(d.Record())
	}
	b.finish(d.Summary())
	b.t.Count = len(b.t.Calls)
	return b.t
}

// Stream groups the records of d like Build, but hands each top-level
// call to each as soon as its return closes it: a Tree whose Calls[0] is
// that call, followed by its descendants. The tree's memory is reused
// for the next call, so a full buffer needs no more than its largest
// top-level call. The tree each gets is valid until each returns, and
// its Exact, Open and Notes are not final; the returned tree holds no
// calls but what is known at the end: Count, Exact, Open and Notes. An
// error from each stops the stream and is returned.
//
// Stream cannot look ahead: unless opt.Markers says the trace has the
// no-parameter and void markers, the calls handed over before the first
// marker record are marked Unsure (Build marks them only when no marker
// comes at all).
func Stream(area []uint64, d *abi.Decoder, opt Options, each func(t *Tree) error) (*Tree, error) {
	b := &builder{t: &Tree{area: area}, lastIdx: -1, markers: opt.Markers, full: opt.Full, each: each}
	for b.err == nil && d.Next() {
		b.add(d.Record())
	}
	return b.streamEnd(d.Summary())
}

// BuildRecords is Build for records decoded already, such as one task's
// stream of a follow-mode buffer (abi.DecodeFollow): recs alias area, and
// sum is what their decoding found.
func BuildRecords(area []uint64, recs []abi.Record, sum *abi.Summary, opt Options) *Tree {
	b := &builder{t: &Tree{area: area}, lastIdx: -1, markers: opt.Markers, full: opt.Full}
	for i := range recs {
		b.add(&recs[i])
	}
	b.finish(sum)
	b.t.Count = len(b.t.Calls)
	return b.t
}

// StreamRecords is Stream for records decoded already, as BuildRecords.
func StreamRecords(area []uint64, recs []abi.Record, sum *abi.Summary, opt Options, each func(t *Tree) error) (*Tree, error) {
	b := &builder{t: &Tree{area: area}, lastIdx: -1, markers: opt.Markers, full: opt.Full, each: each}
	for i := 0; b.err == nil && i < len(recs); i++ {
		b.add(&recs[i])
	}
	return b.streamEnd(sum)
}

// streamEnd hands over the calls left open once the records are done.
func (b *builder) streamEnd(sum *abi.Summary) (*Tree, error) {
	if b.err != nil {
		return nil, b.err
	}
	b.finish(sum)
	if b.err != nil {
		return nil, b.err
	}
	t := b.t
	t.Count = t.First
	t.Calls, t.args, t.extra = nil, nil, nil
	return t, nil
}

// emit hands a closed top-level call to each and empties the tree.
func (b *builder) emit() {
	t := b.t
	if !b.markers {
		for i := range t.Calls {
			t.Calls[i].Flags |= Unsure
		}
	}
	b.err = b.each(t)
	t.First += len(t.Calls)
	t.Calls, t.args, t.extra = t.Calls[:0], t.args[:0], t.extra[:0]
}

func (b *builder) top() int32 {
	if len(b.stack) == 0 {
		return -1
	}
	return b.stack[len(b.stack)-1]
}

func (b *builder) push(r *abi.Record) int32 {
	parent := b.top()
	c := Call{PC: r.PC, Parent: parent, Depth: int32(len(b.stack)), Seq: r.Seq, Offset: int32(r.Offset), argLo: int32(len(b.t.args))}
	b.t.Calls = append(b.t.Calls, c)
	i := int32(len(b.t.Calls) - 1)
	b.stack = append(b.stack, i)
	return i
}

// pop closes the top frame; in a stream, a top-level call closed is
// handed over.
func (b *builder) pop() {
	i := b.stack[len(b.stack)-1]
	b.stack = b.stack[:len(b.stack)-1]
	b.t.Calls[i].End = int32(len(b.t.Calls))
	if len(b.stack) == 0 && b.each != nil && b.err == nil {
		b.emit()
	}
}

func (b *builder) add(r *abi.Record) {
	switch r.Kind {
	case abi.KindEntry:
		if r.Size == 0 {
			b.markers = true
		}
		top := b.top()
		// The entry records of one call come together, in rising
		// argument order; anything else starts a new call.
		if top < 0 || !b.inEntry || b.t.Calls[top].PC != r.PC || int(r.ArgIdx) <= b.lastIdx {
			top = b.push(r)
		}
		c := &b.t.Calls[top]
		b.t.args = append(b.t.args, b.t.value(r))
		c.argN++
		b.lastIdx = int(r.ArgIdx)
		b.inEntry = true
	case abi.KindReturn:
		if r.Size == 0 {
			b.markers = true
		}
		b.inEntry = false
		b.lastIdx = -1
		v := b.t.value(r)
		v.Idx = 0
		// The frame this return closes: the innermost open call of pc.
		at := -1
		for k := len(b.stack) - 1; k >= 0; k-- {
			if b.t.Calls[b.stack[k]].PC == r.PC {
				at = k
				break
			}
		}
		if at < 0 {
			// Seen by its return only: a call without an entry record.
			i := b.push(r)
			c := &b.t.Calls[i]
			c.Flags |= NoEntry
			c.HasRet, c.Ret = true, v
			b.pop()
			return
		}
		for len(b.stack) > at+1 {
			b.t.Calls[b.top()].Flags |= NoReturn
			b.t.Open++
			b.pop()
		}
		c := &b.t.Calls[b.top()]
		c.HasRet, c.Ret = true, v
		b.pop()
	}
}

func (b *builder) finish(s *abi.Summary) {
	for len(b.stack) > 0 {
		b.t.Calls[b.top()].Flags |= NoReturn
		b.t.Open++
		b.pop()
	}
	b.t.Exact = b.markers && s.Exact() && s.AnomalyCounts[abi.AnomalySeqGap] == 0
	if !b.markers {
		b.t.Notes = append(b.t.Notes, "the trace has no no-parameter/void markers: calls without parameters are seen by their return only, and nesting around them is a best effort (marked ?)")
		for i := range b.t.Calls {
			b.t.Calls[i].Flags |= Unsure
		}
	}
	if b.t.Open > 0 {
		why := "noreturn functions, or records lost"
		if b.full || s.Full {
			why = "the buffer filled up"
		}
		b.t.Notes = append(b.t.Notes, fmt.Sprintf("%d calls have no return record (%s); they are closed where their caller returned", b.t.Open, why))
	}
}
