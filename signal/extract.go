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

	set    featureSet
	recs   featureSet // hashes of the struct records seen, class for class
	counts slotCounts // features per slot, for MaxPerSlot
	buf    []Feature
	// Capped counts the values MaxPerSlot left out (each time one is seen).
	Capped int

	cache *[slotCacheSize]slotInfo // when slow
	ids   map[uint64]uint32
	// full remembers slots that reached MaxPerSlot, so that a value of a
	// busy slot is refused without a map lookup.
	full [fullCacheSize]Slot
	raw  *[1 << rawCacheBits]uint64
}

// rawCacheBits sizes the cache of recent struct records and scalar
// features: 32 KiB, which stays in the caches closest to the core.
const rawCacheBits = 12

const fullCacheSize = 1024

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
	if e.slow {
		e.cache = new([slotCacheSize]slotInfo)
	}
	e.set.init(1 << 12)
	e.recs.init(1 << 12)
	e.raw = new([1 << rawCacheBits]uint64)
	// Room for a struct's features and its relations.
	e.buf = make([]Feature, 0, maxFieldSlots+1+RelationFields*(RelationFields-1)/2)
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
		f := base.Feature(classify(vs[0], vt, ret))
		// Scalars repeat most: a small cache of recent ones before the set.
		ri := uint64(f) * 0x9E3779B97F4A7C15 >> (64 - rawCacheBits)
		if e.raw[ri] == uint64(f)|1<<63 {
			return
		}
		if e.insert(f) {
			e.raw[ri] = uint64(f) | 1<<63
		}
		return
	}
	// An expanded struct: its pointer, then its fields.
	c, p := classify(r.Ptr, ValueType{Kind: Pointer}, ret)
	if c == ClassNull || c == ClassErrPtr {
		e.insert(base.Feature(c, p)) // the fields are zeros or markers
		return
	}
	n := min(len(vs), e.maxFields)
	// A record seen before word for word gives nothing new: a cache of
	// recent records' hashes saves classifying their fields again.
	raw := rawHash(uint64(base)^r.Ptr, vs[:n])
	ri := raw * 0x9E3779B97F4A7C15 >> (64 - rawCacheBits)
	if e.raw[ri] == raw {
		return
	}
	e.raw[ri] = raw
	fs := e.buf[:n+1]
	fs[0] = base.Feature(c, p)
	// The record's features are hashed together first: most records
	// repeat one seen before class for class, and then one probe of the
	// record set saves a probe per field.
	h := uint64(fs[0])
	fields := fs[1:]
	if fts == nil {
		for i, w := range vs[:len(fields)] {
			f := (base + Slot(i+1)).Feature(ClassUnreadable, 0)
			if w != abi.BadAddr {
				f = (base + Slot(i+1)).Feature(classify(w, ValueType{}, false))
			}
			fields[i] = f
			h = (h ^ uint64(f)) * 0x100000001b3
		}
	} else {
		for i, w := range vs[:len(fields)] {
			var ft ValueType
			if i < len(fts) {
				ft = fts[i]
			}
			f := (base + Slot(i+1)).Feature(ClassUnreadable, 0)
			if w != abi.BadAddr {
				f = (base + Slot(i+1)).Feature(classify(w, ft, false))
			}
			fields[i] = f
			h = (h ^ uint64(f)) * 0x100000001b3
		}
	}
	if e.opt.Relations {
		fs = e.relations(fs, base, vs[:min(n, RelationFields)], fts)
		for _, f := range fs[n+1:] {
			h = (h ^ uint64(f)) * 0x100000001b3
		}
	}
	e.buf = fs
	h ^= h >> 29
	if e.recs.has(Feature(h)) {
		return
	}
	e.recs.add(Feature(h))
	for _, f := range fs {
		e.insert(f)
	}
}

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

// relations adds field i against field j for the integer fields among
// the first RelationFields; pointers compare by where they were
// allocated, which says nothing.
func (e *Extractor) relations(fs []Feature, base Slot, vs []uint64, fts []ValueType) []Feature {
	for i := range vs {
		if !integerClass(fs[i+1].Class()) {
			continue
		}
		for j := i + 1; j < len(vs); j++ {
			if !integerClass(fs[j+1].Class()) {
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
			fs = append(fs, (base+Slot(i+1)).Feature(ClassRelation, op<<8|uint16(j)))
		}
	}
	return fs
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

// insert adds f unless its slot is full, and tells whether f is in the
// set now.
func (e *Extractor) insert(f Feature) bool {
	i, ok := e.set.lookup(f)
	if ok {
		return true
	}
	if e.opt.MaxPerSlot > 0 {
		s := f.Slot()
		h := uint64(s) * 0x9E3779B97F4A7C15 >> (64 - 10)
		if e.full[h] == s+1 {
			e.Capped++
			return false
		}
		if !e.counts.inc(s, e.opt.MaxPerSlot) {
			e.full[h] = s + 1
			e.Capped++
			return false
		}
	}
	e.set.place(i, f)
	return true
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
	e.recs.clear()
	clear(e.raw[:])
	e.counts.clear()
	clear(e.full[:])
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
	_, ok := s.lookup(f)
	return ok
}

// lookup tells whether f is in the set, and where it is or would go.
func (s *featureSet) lookup(f Feature) (uint64, bool) {
	if f == 0 {
		return 0, s.zero
	}
	mask := uint64(len(s.slots) - 1)
	for i := uint64(f) * 0x9E3779B97F4A7C15 >> s.shift; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case f:
			return i, true
		case 0:
			return i, false
		}
	}
}

// place puts f, which lookup did not find, where lookup said.
func (s *featureSet) place(i uint64, f Feature) {
	s.n++
	if f == 0 {
		s.zero = true
		return
	}
	s.slots[i] = f
	if 2*s.n > len(s.slots) {
		old := s.slots
		zero, n := s.zero, s.n
		s.init(2 * len(old))
		for _, g := range old {
			if g != 0 {
				j, _ := s.lookup(g)
				s.slots[j] = g
			}
		}
		s.zero, s.n = zero, n
	}
}

func (s *featureSet) add(f Feature) {
	if i, ok := s.lookup(f); !ok {
		s.place(i, f)
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

// slotCounts counts the features of each slot: open addressing on the
// slot, as featureSet.
type slotCounts struct {
	keys  []Slot // slot+1; 0 is empty
	ns    []uint16
	n     int
	shift uint
}

func (c *slotCounts) init(size int) {
	c.keys, c.ns = make([]Slot, size), make([]uint16, size)
	c.shift = uint(64 - bitsLen(size-1))
	c.n = 0
}

// inc adds one to the count of s and tells true, or false when it is max
// already.
func (c *slotCounts) inc(s Slot, max int) bool {
	if 2*(c.n+1) > len(c.keys) {
		keys, ns := c.keys, c.ns
		c.init(2 * len(keys))
		for i, k := range keys {
			if k != 0 {
				j := c.find(k)
				c.keys[j], c.ns[j] = k, ns[i]
				c.n++
			}
		}
	}
	k := s + 1
	i := c.find(k)
	if c.keys[i] == 0 {
		c.keys[i] = k
		c.n++
	}
	if int(c.ns[i]) >= max {
		return false
	}
	c.ns[i]++
	return true
}

func (c *slotCounts) find(k Slot) uint64 {
	mask := uint64(len(c.keys) - 1)
	i := uint64(k) * 0x9E3779B97F4A7C15 >> c.shift
	for c.keys[i] != k && c.keys[i] != 0 {
		i = (i + 1) & mask
	}
	return i
}

func (c *slotCounts) clear() {
	clear(c.keys)
	clear(c.ns)
	c.n = 0
}
