package signal

import (
	"math/bits"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/bitwidth"
)

// slotPlan is what Options.Types and Options.FuncID say of one (function,
// return or argument), decided once: the extractor then reads a record's
// values without asking them again.
type slotPlan struct {
	base   Slot      // the slot of the value itself, FuncID applied
	value  ValueType // the value's type (Size 0: the record's size)
	fields []fieldType
	// signed has bit i set when field i, one of the first
	// RelationFields, is a signed integer: relations compare it as one,
	// cut to sizes[i] bytes.
	signed uint8
	sizes  [RelationFields]uint8
}

// fieldType is a field's ValueType made ready for classify: a size of
// 1 to 8, and Opaque read as Auto (by the value rules, as classify does).
type fieldType struct {
	mask uint64 // the size's bytes
	// small bounds the values (cut to the size) that are zero or small:
	// 128 for one byte that may be negative, 0 for a pointer.
	small uint64
	kind  ValueKind
	size  uint8
}

func makeFieldType(t ValueType) fieldType {
	ft := fieldType{kind: t.Kind, size: t.Size}
	if ft.kind == Opaque {
		ft.kind = Auto
	}
	if ft.size == 0 || ft.size > 8 {
		ft.size = 8
	}
	ft.mask = bitwidth.Mask(uint(ft.size))
	switch {
	case ft.kind == Pointer:
		ft.small = 0
	case ft.kind != Unsigned && ft.size == 1:
		ft.small = 128
	default:
		ft.small = 256
	}
	return ft
}

// classify is classify(w, the field's type, false), with the commonest
// types of debug info first.
func (t fieldType) classify(w uint64) (Class, uint16) {
	switch t.kind {
	case Unsigned:
		return positive(w & t.mask)
	case Pointer:
		w &= t.mask
		switch {
		case w == 0:
			return ClassNull, 0
		case w >= 1<<63:
			if abi.IsErrPtr(w) {
				return ClassErrPtr, uint16(-int64(w))
			}
			return ClassKernelPtr, 0
		}
		return ClassUserPtr, 0
	case Auto:
		if t.size == 8 {
			return classifyWord(w, false)
		}
	}
	return classify(w, ValueType{Kind: t.kind, Size: t.size}, false)
}

// planTable finds the plan of a (pc, return or argument): open
// addressing on the pair, as a map lookup per record would cost more
// than the rest of the record's extraction. An entry holds what a
// scalar needs, so that only a struct reads its plan.
type planTable struct {
	entries []planEntry // key 0 is empty
	n       int
	shift   uint
	ids     map[uint64]uint32 // FuncID's answers, by pc
}

type planEntry struct {
	pc    uint64
	base  Slot
	plan  *slotPlan
	key   uint32 // ret<<8 | arg, +1
	value ValueType
}

func planHash(pc uint64, key uint32, shift uint) uint64 {
	return (pc*0x9E3779B97F4A7C15 + uint64(key)*0xff51afd7ed558ccd) >> shift
}

// plan returns the entry of (link, ret, arg), made on first use.
func (e *Extractor) plan(link uint64, ret bool, arg uint8) *planEntry {
	t := &e.plans
	key := uint32(arg) + 1
	if ret {
		key |= 1 << 8
	}
	if t.entries == nil {
		t.entries = make([]planEntry, 1<<11)
		t.shift = 64 - 11
	}
	mask := uint64(len(t.entries) - 1)
	i := planHash(link, key, t.shift)
	for ; t.entries[i].key != 0; i = (i + 1) & mask {
		if t.entries[i].pc == link && t.entries[i].key == key {
			return &t.entries[i]
		}
	}
	p := e.makePlan(link, ret, arg)
	t.entries[i] = planEntry{pc: link, base: p.base, key: key, value: p.value, plan: p}
	t.n++
	if 2*t.n <= len(t.entries) {
		return &t.entries[i]
	}
	old := t.entries
	t.entries = make([]planEntry, 2*len(old))
	t.shift--
	mask = uint64(len(t.entries) - 1)
	for _, pe := range old {
		if pe.key == 0 {
			continue
		}
		j := planHash(pe.pc, pe.key, t.shift)
		for t.entries[j].key != 0 {
			j = (j + 1) & mask
		}
		t.entries[j] = pe
	}
	return e.plan(link, ret, arg)
}

func (e *Extractor) makePlan(link uint64, ret bool, arg uint8) *slotPlan {
	fn := uint32(link)
	if e.opt.FuncID != nil {
		if e.plans.ids == nil {
			e.plans.ids = map[uint64]uint32{}
		}
		id, ok := e.plans.ids[link]
		if !ok {
			id = e.opt.FuncID(link)
			e.plans.ids[link] = id
		}
		fn = id
	}
	p := &slotPlan{base: MakeSlot(fn, ret, arg, -1)}
	if e.opt.Types == nil {
		return p
	}
	var fts []ValueType
	p.value, fts = e.opt.Types.Types(link, ret, arg)
	if fts == nil {
		return p // a scalar stays one: nil and empty differ
	}
	p.fields = make([]fieldType, min(len(fts), e.maxFields))
	for i := range p.fields {
		p.fields[i] = makeFieldType(fts[i])
		if i < RelationFields {
			p.sizes[i] = p.fields[i].size
			if fts[i].Kind == Signed {
				p.signed |= 1 << i
			}
		}
	}
	return p
}

// relationSet holds a struct's relations as masks over the pairs of its
// first RelationFields fields, pair (i, j) at bit pairIndex(i, j): a
// pair in pairs is < when its bit of less is set, == when that of equal
// is, > else.
type relationSet struct {
	pairs, less, equal uint64
}

// pairIndex numbers the pairs i < j in the order their features are
// added: by i, then j.
func pairIndex(i, j int) int { return RelationFields*i - i*(i+1)/2 + j - i - 1 }

var (
	// pairsOf[m] has the bits of the pairs whose two fields are in m.
	pairsOf      [1 << RelationFields]uint64
	pairI, pairJ [RelationFields * (RelationFields - 1) / 2]uint8
)

func init() {
	for i := 0; i < RelationFields; i++ {
		for j := i + 1; j < RelationFields; j++ {
			k := pairIndex(i, j)
			pairI[k], pairJ[k] = uint8(i), uint8(j)
			for m := range pairsOf {
				if m>>i&1 != 0 && m>>j&1 != 0 {
					pairsOf[m] |= 1 << k
				}
			}
		}
	}
}

// relsCacheBits sizes the cache of relations: 32 KiB.
const relsCacheBits = 11

type relsEntry struct {
	key         uint64 // 0 is empty
	less, equal uint32
}

// relationsOf fills r's less and equal, from the cache when the same
// integer values met in the same plan before.
func (e *Extractor) relationsOf(r *relationSet, seed uint64, vs []uint64, ints uint8, p *slotPlan) {
	k := (seed ^ uint64(ints)) * 0x9E3779B97F4A7C15
	for i, w := range vs {
		k = (k ^ w&-(uint64(ints)>>i&1)) * 0x100000001b3
	}
	k = (k^k>>29)*0xff51afd7ed558ccd | 1
	c := &e.rels[k>>(64-relsCacheBits)]
	if c.key == k {
		r.less, r.equal = uint64(c.less), uint64(c.equal)
		return
	}
	r.compare(vs, ints, p)
	*c = relsEntry{key: k, less: uint32(r.less), equal: uint32(r.equal)}
}

// compare fills less and equal for the pairs of integer fields (ints)
// among vs, the first RelationFields words; pointers compare by where
// they were allocated, which says nothing. Two signed fields compare as
// signed integers.
func (r *relationSet) compare(vs []uint64, ints uint8, p *slotPlan) {
	var signed uint8
	if p != nil {
		signed = p.signed & ints
	}
	for m := ints; m != 0; m &= m - 1 {
		i := bits.TrailingZeros8(m)
		a := vs[i]
		later := m & (m - 1)
		if signed>>i&1 == 0 || signed&later == 0 {
			// Field i is unsigned, or no later field is signed.
			for ; later != 0; later &= later - 1 {
				j := bits.TrailingZeros8(later)
				less, equal := cmpBits(a, vs[j])
				k := pairIndex(i, j)
				r.less |= less << k
				r.equal |= equal << k
			}
			continue
		}
		x := bitwidth.SignExtend(a, uint(p.sizes[i]))
		for ; later != 0; later &= later - 1 {
			j := bits.TrailingZeros8(later)
			var less, equal uint64
			if signed>>j&1 != 0 {
				// Flipping the sign bits orders signed as unsigned.
				y := bitwidth.SignExtend(vs[j], uint(p.sizes[j]))
				less, equal = cmpBits(uint64(x)^1<<63, uint64(y)^1<<63)
			} else {
				less, equal = cmpBits(a, vs[j])
			}
			k := pairIndex(i, j)
			r.less |= less << k
			r.equal |= equal << k
		}
	}
}

// cmpBits returns a < b and a == b as 1 or 0, without a branch: the
// outcome of a comparison of field values is a coin toss to a predictor.
func cmpBits(a, b uint64) (less, equal uint64) {
	d, borrow := bits.Sub64(a, b, 0)
	return borrow, (d|-d)>>63 ^ 1
}

// insert adds the relations' features, field by field.
func (r relationSet) insert(e *Extractor, base Slot) {
	for ps := r.pairs; ps != 0; ps &= ps - 1 {
		k := bits.TrailingZeros64(ps)
		op := uint16(RelGreater)
		switch {
		case r.less>>k&1 != 0:
			op = RelLess
		case r.equal>>k&1 != 0:
			op = RelEqual
		}
		e.insert((base + Slot(pairI[k]+1)).Feature(ClassRelation, op<<8|uint16(pairJ[k])))
	}
}
