package signal

import (
	"slices"

	"github.com/kcovdf/kcovdf/abi"
)

// Defaults of Options.
const (
	// DefaultMaxPerSlot bounds the distinct classes one slot adds in one
	// extraction: enough for every small value a loop walks through, few
	// enough that one input cannot flood a corpus.
	DefaultMaxPerSlot = 64
	// DefaultMaxFields: fields past the first 32 of a struct give no
	// features.
	DefaultMaxFields = 32
	// RelationFields: relations are taken between the first 8 fields of a
	// struct, 28 pairs at most.
	RelationFields = 8
	// maxFieldSlots is what the encoding's field byte can name.
	maxFieldSlots = 254
)

// Types tells the extractor the C types of a function's values. A nil
// Types, or a zero ValueType, leaves them to the value rules.
type Types interface {
	// Types returns the type of a record's value (a scalar, or the
	// pointer of an expanded struct) and of its fields; fields is nil
	// for a scalar. linkPC is the function's link-time address.
	Types(linkPC uint64, ret bool, arg uint8) (value ValueType, fields []ValueType)
}

// Options configure an Extractor. The zero value extracts by the value
// rules alone, from pcs that carry no KASLR offset (v3, or an
// unrandomised boot).
type Options struct {
	// Slide is the traced boot's KASLR offset, subtracted from every pc
	// so that features do not change from boot to boot.
	Slide uint64
	// Types gives values their C types (TypesFromDebugInfo); nil: the
	// value rules.
	Types Types
	// FuncID names a function by something other than the low 32 bits of
	// its link-time address, e.g. a hash of its name so that features
	// survive a rebuild (FuncIDByName). It is called once per function.
	FuncID func(linkPC uint64) uint32
	// Relations adds a feature for each ordered pair of the first
	// RelationFields integer fields of a struct: <, == or >.
	Relations bool
	// MaxPerSlot bounds the features one slot adds in one extraction
	// (0: DefaultMaxPerSlot, negative: no bound; at most 65,535).
	MaxPerSlot int
	// MaxFields bounds the fields of a struct that give features (0:
	// DefaultMaxFields; at most 254).
	MaxFields int
}

// Extractor turns records into a Signal. Add records one at a time (or
// AddRecords), then take the Signal. An Extractor is not safe for
// concurrent use; use one per goroutine and Merge their signals.
type Extractor struct {
	opt       Options
	maxFields int
	slow      bool // Types or FuncID: per-slot lookups

	set featureSet
	// recs caches the hashes of recent struct records, class for class:
	// a cache, not a set, so that a trace of ever new records cannot
	// grow it.
	recs   *[1 << recsCacheBits]uint64
	counts slotCounts // features per slot, for MaxPerSlot
	buf    []Feature
	// Capped counts the values refused because their slot was full
	// (MaxPerSlot); a value the caches recognise is not counted again.
	Capped int

	plans planTable // when slow
	// rels caches relations by the values of the integer fields they
	// compare: a record new word for word often differs in a pointer.
	rels *[1 << relsCacheBits]relsEntry
	// full remembers slots that reached MaxPerSlot, so that a value of a
	// busy slot is refused without a map lookup.
	full [fullCacheSize]Slot
	raw  *[1 << rawCacheBits]uint64
}

// rawCacheBits sizes the cache of recent struct records and scalar
// features: 32 KiB, which stays in the caches closest to the core.
const rawCacheBits = 12

// recsCacheBits sizes the cache of struct records' class hashes: 128 KiB.
const recsCacheBits = 14

const fullCacheSize = 1024

// NewExtractor returns an empty Extractor.
func NewExtractor(opt Options) *Extractor {
	e := &Extractor{opt: opt, maxFields: opt.MaxFields}
	if e.maxFields <= 0 {
		e.maxFields = DefaultMaxFields
	}
	e.maxFields = min(e.maxFields, maxFieldSlots)
	switch {
	case opt.MaxPerSlot == 0:
		e.opt.MaxPerSlot = DefaultMaxPerSlot
	case opt.MaxPerSlot < 0:
		e.opt.MaxPerSlot = 0
	case opt.MaxPerSlot > 1<<16-1:
		e.opt.MaxPerSlot = 1<<16 - 1 // what slotCounts counts to
	}
	e.slow = opt.Types != nil || opt.FuncID != nil
	e.set.init(1 << 12)
	e.recs = new([1 << recsCacheBits]uint64)
	e.raw = new([1 << rawCacheBits]uint64)
	if opt.Relations {
		e.rels = new([1 << relsCacheBits]relsEntry)
	}
	// Room for a struct's pointer and fields (relations are kept as masks).
	e.buf = make([]Feature, 0, maxFieldSlots+1)
	e.counts.init(1 << 10)
	return e
}

// Extract returns the signal of records by the value rules, with the
// default options: pcs taken as link-time addresses.
func Extract(records ...abi.Record) Signal {
	e := NewExtractor(Options{})
	e.AddRecords(records)
	return e.Signal()
}

// AddRecords adds every record of rs.
func (e *Extractor) AddRecords(rs []abi.Record) {
	for i := range rs {
		e.Add(&rs[i])
	}
}

// Where tells which slot of its function a record's value fills: a
// return (arg 0) or argument arg, which the encoding keeps 7 bits of.
// ok is false for records of no argument or return (v3 comparisons).
func Where(r *abi.Record) (ret bool, arg uint8, ok bool) {
	switch r.Kind {
	case abi.KindEntry:
		return false, r.ArgIdx & 0x7f, true
	case abi.KindReturn:
		return true, 0, true
	}
	return false, 0, false
}

// Add adds the features of one record. Comparison records (v3) give none.
func (e *Extractor) Add(r *abi.Record) {
	ret, arg, ok := Where(r)
	if !ok {
		return
	}
	link := r.PC - e.opt.Slide
	base := MakeSlot(uint32(link), ret, arg, -1)
	seed := uint64(base)
	if e.slow {
		// The raw cache knows a record by its pc, return or argument:
		// a record it knows needs no plan, and two functions that FuncID
		// names alike may have types of their own.
		seed ^= link * 0xc2b2ae3d27d4eb4f
	}
	if r.Size == 0 || len(r.Values) == 0 {
		// A marker: the call happened, and that is all there is. It
		// repeats as often as its function is called: the raw cache
		// knows it as it knows a scalar's value.
		raw := ((seed^0x3c6ef372fe94f82b)*0x9E3779B97F4A7C15*0xff51afd7ed558ccd ^ seed>>31) | 1
		ri := raw >> (64 - rawCacheBits)
		if e.raw[ri] == raw {
			return
		}
		if e.slow {
			base = e.plan(link, ret, arg).base
		}
		e.insert(base.Feature(ClassCalled, 0))
		e.raw[ri] = raw
		return
	}
	vs := r.Values
	var p *slotPlan
	if len(vs) == 1 {
		// Scalars repeat most: a value seen at this slot a moment ago is
		// known without classifying it again. The size is part of the
		// key: it decides how an untyped value is cut. (A one-field
		// struct's plan never stores this key.)
		raw := (((seed^uint64(r.Size)<<56)*0x9E3779B97F4A7C15 ^ vs[0]) * 0xff51afd7ed558ccd) | 1
		ri := raw >> (64 - rawCacheBits)
		if e.raw[ri] == raw {
			return
		}
		var vt ValueType
		if e.slow {
			pe := e.plan(link, ret, arg)
			base, vt, p = pe.base, pe.value, pe.plan
		}
		if p == nil || p.fields == nil {
			if vt.Size == 0 {
				vt.Size = r.Size
			}
			e.insert(base.Feature(classify(vs[0], vt, ret)))
			e.raw[ri] = raw // added, or refused for good: a full slot stays full
			return
		}
	}
	// A record seen before word for word gives nothing new: a cache of
	// recent records' hashes saves classifying their fields again.
	// The pointer is multiplied in: XORed as it is, a pointer 512 bytes
	// away cancelled the argument index's bits of the seed, and a record
	// of another argument passed for this one.
	raw := rawHash(seed^r.Ptr*0x9E3779B97F4A7C15, vs[:min(len(vs), e.maxFields)])
	ri := raw * 0x9E3779B97F4A7C15 >> (64 - rawCacheBits)
	if e.raw[ri] == raw {
		return
	}
	if e.slow && p == nil {
		pe := e.plan(link, ret, arg)
		base, p = pe.base, pe.plan
	}
	e.addStruct(base, seed, r.Ptr, vs, p, ret, ri, raw)
}

// addStruct adds an expanded struct: its pointer, then its fields.
// raw, at e.raw[ri], is its words' hash, which the cache did not know.
func (e *Extractor) addStruct(base Slot, seed, ptr uint64, vs []uint64, p *slotPlan, ret bool, ri, raw uint64) {
	n := min(len(vs), e.maxFields)
	c, pp := classify(ptr, ValueType{Kind: Pointer}, ret)
	if c == ClassNull || c == ClassErrPtr {
		e.insert(base.Feature(c, pp)) // the fields are zeros or markers
		return
	}
	e.raw[ri] = raw
	fs := e.buf[:n+1]
	fs[0] = base.Feature(c, pp)
	// The record's features are hashed together first: most records
	// repeat one seen before class for class, and then one probe of the
	// record set saves a probe per field.
	// The pointer's feature is mixed in first, so that no field can cancel it.
	h := uint64(fs[0]) * 0x9E3779B97F4A7C15
	fields := fs[1:]
	var fts []fieldType
	if p != nil {
		fts = p.fields
	}
	// Fields past the typed ones are read by the value rules.
	typed := min(len(fts), len(fields))
	for i, w := range vs[:typed] {
		c, pl := ClassUnreadable, uint16(0)
		switch m := w & fts[i].mask; {
		case w == abi.BadAddr:
		case m < fts[i].small:
			c, pl = smallClass(m)
		default:
			c, pl = fts[i].classify(w)
		}
		f := (base + Slot(i+1)).Feature(c, pl)
		fields[i] = f
		h = (h ^ uint64(f)) * 0x100000001b3
	}
	for i := typed; i < len(fields); i++ {
		w := vs[i]
		c, pl := ClassUnreadable, uint16(0)
		switch {
		case w < 256:
			c, pl = smallClass(w)
		case w != abi.BadAddr:
			c, pl = classifyWord(w, false)
		}
		f := (base + Slot(i+1)).Feature(c, pl)
		fields[i] = f
		h = (h ^ uint64(f)) * 0x100000001b3
	}
	var rel relationSet
	if e.opt.Relations {
		// Relations compare the integer fields among the first ones.
		var ints uint64
		for i, f := range fields[:min(n, RelationFields)] {
			ints |= isInteger(f.Class()) << i
		}
		// The relations are hashed as two masks; their features are
		// made only for a record the cache does not know.
		if rel.pairs = pairsOf[uint8(ints)]; rel.pairs != 0 {
			e.relationsOf(&rel, seed, vs[:min(n, RelationFields)], uint8(ints), p)
			h = (h ^ rel.less) * 0x100000001b3
			h = (h ^ rel.equal) * 0x100000001b3
		}
	}
	h = (h ^ h>>29) * 0x9E3779B97F4A7C15
	hi := h >> (64 - recsCacheBits)
	if e.recs[hi] == h|1 {
		return
	}
	e.recs[hi] = h | 1
	for _, f := range fs {
		e.insert(f)
	}
	if rel.pairs != 0 {
		rel.insert(e, base)
	}
}

// smallClass is the class of a value below 256, zero or small, without
// a branch and without a call: most fields hold one.
func smallClass(w uint64) (Class, uint16) { return Class(min(w, 1)), uint16(w) }

// isInteger is 1 for the classes of integers (ClassErrno and below), 0
// for the others, without a branch.
func isInteger(c Class) uint64 { return uint64(uint8(ClassErrno-c)>>7 ^ 1) }

// rawHash hashes a record's words in two lanes, so that the multiplies
// of one do not wait for the other's.
func rawHash(seed uint64, vs []uint64) uint64 {
	a, b := seed*0x100000001b3, uint64(len(vs))
	for len(vs) >= 2 {
		a = (a ^ vs[0]) * 0x100000001b3
		b = (b ^ vs[1]) * 0x9E3779B97F4A7C15
		vs = vs[2:]
	}
	if len(vs) == 1 {
		a = (a ^ vs[0]) * 0x100000001b3
	}
	h := (a ^ b>>29 ^ b<<17) * 0xff51afd7ed558ccd
	return (h ^ h>>31) | 1 // never 0, the empty entry
}

// insert adds f unless its slot is full.
func (e *Extractor) insert(f Feature) {
	var h uint64
	if e.opt.MaxPerSlot > 0 {
		// A full slot takes nothing more: no need to look f up.
		h = uint64(f.Slot()) * 0x9E3779B97F4A7C15 >> (64 - 10)
		if e.full[h] == f.Slot()+1 {
			e.Capped++
			return
		}
	}
	i, ok := e.set.lookup(f)
	if ok {
		return
	}
	if e.opt.MaxPerSlot > 0 && !e.counts.inc(f.Slot(), e.opt.MaxPerSlot) {
		e.full[h] = f.Slot() + 1
		e.Capped++
		return
	}
	e.set.place(i, f)
}

// Len is the number of distinct features added so far.
func (e *Extractor) Len() int { return e.set.n }

// Signal returns the features added so far.
func (e *Extractor) Signal() Signal {
	fs := e.set.appendTo(make([]Feature, 0, e.set.n))
	slices.Sort(fs)
	return Signal{fs}
}

// Reset empties the Extractor for the next input, keeping its memory.
func (e *Extractor) Reset() {
	e.set.clear()
	clear(e.recs[:])
	clear(e.raw[:])
	if e.rels != nil {
		clear(e.rels[:])
	}
	e.counts.clear()
	clear(e.full[:])
	e.Capped = 0
}

// featureSet is an open-addressing set of features: a map lookup per
// value is what would keep extraction from keeping up with a decoder.
// It stores each feature inverted, so that the empty entry, 0, stands
// for the all-ones word, which is no feature (class 15 does not exist)
// and no record hash (they are even).
type featureSet struct {
	slots []uint64 // ^feature; 0 is empty
	n     int
	shift uint
}

func (s *featureSet) init(size int) {
	s.slots = make([]uint64, size)
	s.shift = uint(64 - bitsLen(size-1))
	s.n = 0
}

func bitsLen(x int) int {
	n := 0
	for x > 0 {
		n++
		x >>= 1
	}
	return n
}

// lookup tells whether f is in the set, and where it is or would go.
func (s *featureSet) lookup(f Feature) (uint64, bool) {
	x := ^uint64(f)
	mask := uint64(len(s.slots) - 1)
	for i := uint64(f) * 0x9E3779B97F4A7C15 >> s.shift; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case x:
			return i, true
		case 0:
			return i, false
		}
	}
}

// place puts f, which lookup did not find, where lookup said.
func (s *featureSet) place(i uint64, f Feature) {
	s.n++
	s.slots[i] = ^uint64(f)
	if 2*s.n > len(s.slots) {
		old := s.slots
		n := s.n
		s.init(2 * len(old))
		for _, x := range old {
			if x != 0 {
				j, _ := s.lookup(Feature(^x))
				s.slots[j] = x
			}
		}
		s.n = n
	}
}

func (s *featureSet) appendTo(fs []Feature) []Feature {
	for _, x := range s.slots {
		if x != 0 {
			fs = append(fs, Feature(^x))
		}
	}
	return fs
}

func (s *featureSet) clear() {
	clear(s.slots)
	s.n = 0
}

// slotCounts counts the features of each slot: open addressing on the
// slot, as featureSet, an entry holding slot+1 in its low 48 bits and
// the count in its top 16, so that a probe reads one word.
type slotCounts struct {
	entries []uint64 // 0 is empty
	n       int
	shift   uint
}

const slotMask = 1<<48 - 1

func (c *slotCounts) init(size int) {
	c.entries = make([]uint64, size)
	c.shift = uint(64 - bitsLen(size-1))
	c.n = 0
}

// inc adds one to the count of s and tells true, or false when it is max
// already.
func (c *slotCounts) inc(s Slot, max int) bool {
	k := uint64(s) + 1
	mask := uint64(len(c.entries) - 1)
	i := k * 0x9E3779B97F4A7C15 >> c.shift
	for c.entries[i] != 0 && c.entries[i]&slotMask != k {
		i = (i + 1) & mask
	}
	e := c.entries[i]
	if e == 0 {
		c.n++
		e = k
	}
	if int(e>>48) >= max {
		c.entries[i] = e
		return false
	}
	c.entries[i] = e + 1<<48
	if 2*c.n > len(c.entries) {
		old := c.entries
		c.init(2 * len(old))
		for _, e := range old {
			if e != 0 {
				j := (e & slotMask) * 0x9E3779B97F4A7C15 >> c.shift
				for c.entries[j] != 0 {
					j = (j + 1) & uint64(len(c.entries)-1)
				}
				c.entries[j] = e
				c.n++
			}
		}
	}
	return true
}

func (c *slotCounts) clear() {
	clear(c.entries)
	c.n = 0
}
