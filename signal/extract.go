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
	// (0: DefaultMaxPerSlot, negative: no bound).
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

	set   featureSet
	count map[Slot]int // features per slot, for MaxPerSlot
	// Capped counts the features MaxPerSlot left out.
	Capped int

	cache [slotCacheSize]slotInfo
	ids   map[uint64]uint32
}

const slotCacheSize = 1024

// slotInfo caches what Types and FuncID say about one (pc, kind, arg).
type slotInfo struct {
	pc     uint64
	key    uint16 // ret<<8 | arg, +1 so that the zero entry matches nothing
	fn     uint32
	value  ValueType
	fields []ValueType
}

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
	}
	e.slow = opt.Types != nil || opt.FuncID != nil
	e.set.init(1 << 12)
	e.count = map[Slot]int{}
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

// Add adds the features of one record. Comparison records (v3) give none.
func (e *Extractor) Add(r *abi.Record) {
	var ret bool
	switch r.Kind {
	case abi.KindEntry:
	case abi.KindReturn:
		ret = true
	default:
		return
	}
	arg := r.ArgIdx & 0x7f
	if ret {
		arg = 0
	}
	link := r.PC - e.opt.Slide
	fn := uint32(link)
	var vt ValueType
	var fts []ValueType
	if e.slow {
		si := e.info(link, ret, arg)
		fn, vt, fts = si.fn, si.value, si.fields
	}
	base := MakeSlot(fn, ret, arg, -1)
	if r.Size == 0 || len(r.Values) == 0 {
		// A marker: the call happened, and that is all there is.
		e.insert(base.Feature(ClassCalled, 0))
		return
	}
	if vt.Size == 0 {
		vt.Size = r.Size
	}
	vs := r.Values
	if len(vs) == 1 && fts == nil {
		c, p := classify(vs[0], vt, ret)
		e.insert(base.Feature(c, p))
		return
	}
	// An expanded struct: its pointer, then its fields.
	pt := ValueType{Kind: Pointer}
	c, p := classify(r.Ptr, pt, ret)
	e.insert(base.Feature(c, p))
	if c == ClassNull || c == ClassErrPtr {
		return // the fields are zeros or markers
	}
	n := min(len(vs), e.maxFields)
	var classes [RelationFields]Class
	for i := 0; i < n; i++ {
		var ft ValueType
		if i < len(fts) {
			ft = fts[i]
		}
		w := vs[i]
		var c Class
		var p uint16
		if w == abi.BadAddr {
			c = ClassUnreadable
		} else {
			c, p = classify(w, ft, false)
		}
		e.insert((base + Slot(i+1)).Feature(c, p))
		if i < RelationFields {
			classes[i] = c
		}
	}
	if e.opt.Relations {
		e.relations(base, vs[:min(n, RelationFields)], fts, &classes)
	}
}

// relations adds field i against field j for the integer fields among
// the first RelationFields; pointers compare by where they were
// allocated, which says nothing.
func (e *Extractor) relations(base Slot, vs []uint64, fts []ValueType, classes *[RelationFields]Class) {
	for i := range vs {
		if !integerClass(classes[i]) {
			continue
		}
		for j := i + 1; j < len(vs); j++ {
			if !integerClass(classes[j]) {
				continue
			}
			a, b := vs[i], vs[j]
			var op uint16
			if signedField(fts, i) && signedField(fts, j) {
				x, y := signExtend(a, sizeOf(fts, i)), signExtend(b, sizeOf(fts, j))
				op = cmp3(x < y, x == y)
			} else {
				op = cmp3(a < b, a == b)
			}
			e.insert((base + Slot(i+1)).Feature(ClassRelation, op<<8|uint16(j)))
		}
	}
}

func cmp3(less, equal bool) uint16 {
	switch {
	case less:
		return RelLess
	case equal:
		return RelEqual
	}
	return RelGreater
}

func integerClass(c Class) bool {
	return c <= ClassErrno
}

func signedField(fts []ValueType, i int) bool { return i < len(fts) && fts[i].Kind == Signed }

func sizeOf(fts []ValueType, i int) uint {
	if i < len(fts) && fts[i].Size > 0 && fts[i].Size < 8 {
		return uint(fts[i].Size)
	}
	return 8
}

// info returns what Types and FuncID say of a slot, cached.
func (e *Extractor) info(link uint64, ret bool, arg uint8) *slotInfo {
	key := uint16(arg) + 1
	if ret {
		key |= 1 << 8
	}
	h := (link*0x9E3779B97F4A7C15 + uint64(key)*0xff51afd7ed558ccd) >> 54 // 10 bits
	si := &e.cache[h]
	if si.pc == link && si.key == key {
		return si
	}
	si.pc, si.key = link, key
	si.fn = uint32(link)
	if e.opt.FuncID != nil {
		if e.ids == nil {
			e.ids = map[uint64]uint32{}
		}
		id, ok := e.ids[link]
		if !ok {
			id = e.opt.FuncID(link)
			e.ids[link] = id
		}
		si.fn = id
	}
	si.value, si.fields = ValueType{}, nil
	if e.opt.Types != nil {
		si.value, si.fields = e.opt.Types.Types(link, ret, arg)
	}
	return si
}

func (e *Extractor) insert(f Feature) {
	if e.set.has(f) {
		return
	}
	if e.opt.MaxPerSlot > 0 {
		s := f.Slot()
		n := e.count[s]
		if n >= e.opt.MaxPerSlot {
			e.Capped++
			return
		}
		e.count[s] = n + 1
	}
	e.set.add(f)
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
	clear(e.count)
	e.Capped = 0
}

// featureSet is an open-addressing set of features: a map lookup per
// value is what would keep extraction from keeping up with a decoder.
type featureSet struct {
	slots []Feature // 0 is empty; the feature 0 is kept in zero
	zero  bool
	n     int
	shift uint
}

func (s *featureSet) init(size int) {
	s.slots = make([]Feature, size)
	s.shift = uint(64 - bitsLen(size-1))
	s.n, s.zero = 0, false
}

func bitsLen(x int) int {
	n := 0
	for x > 0 {
		n++
		x >>= 1
	}
	return n
}

func (s *featureSet) has(f Feature) bool {
	if f == 0 {
		return s.zero
	}
	mask := uint64(len(s.slots) - 1)
	for i := uint64(f) * 0x9E3779B97F4A7C15 >> s.shift; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case f:
			return true
		case 0:
			return false
		}
	}
}

func (s *featureSet) add(f Feature) {
	if f == 0 {
		if !s.zero {
			s.zero = true
			s.n++
		}
		return
	}
	if 2*(s.n+1) > len(s.slots) {
		old := s.slots
		zero, n := s.zero, s.n
		s.init(2 * len(old))
		for _, g := range old {
			if g != 0 {
				s.put(g)
			}
		}
		s.zero, s.n = zero, n
	}
	if s.put(f) {
		s.n++
	}
}

func (s *featureSet) put(f Feature) bool {
	mask := uint64(len(s.slots) - 1)
	for i := uint64(f) * 0x9E3779B97F4A7C15 >> s.shift; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case f:
			return false
		case 0:
			s.slots[i] = f
			return true
		}
	}
}

func (s *featureSet) appendTo(fs []Feature) []Feature {
	if s.zero {
		fs = append(fs, 0)
	}
	for _, f := range s.slots {
		if f != 0 {
			fs = append(fs, f)
		}
	}
	return fs
}

func (s *featureSet) clear() {
	clear(s.slots)
	s.n, s.zero = 0, false
}
