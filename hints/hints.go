package hints

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/bitwidth"
	"github.com/kcovdf/kcovdf/signal"
)

// Defaults of Options.
const (
	DefaultMaxPerPC         = 64
	DefaultMaxValuesPerSlot = 64
	// MaxRuns is how many runs Stable intersects at most.
	MaxRuns = 32
)

// Options configure an Observer and Stable.
type Options struct {
	// Slide is the traced boot's KASLR offset, subtracted from every pc.
	Slide uint64
	// Types gives values their C types and widths (signal.TypesFromDebugInfo);
	// nil: the record's size for scalars, 8 bytes for fields, pointers by
	// the value rules.
	Types signal.Types
	// MaxPerPC bounds the candidates of one function (0: DefaultMaxPerPC).
	MaxPerPC int
	// MaxValuesPerSlot bounds the distinct values one slot keeps in a run
	// (0: DefaultMaxValuesPerSlot).
	MaxValuesPerSlot int
}

func (o Options) maxPerPC() int         { return cmp.Or(o.MaxPerPC, DefaultMaxPerPC) }
func (o Options) maxValuesPerSlot() int { return cmp.Or(o.MaxValuesPerSlot, DefaultMaxValuesPerSlot) }

// Observer collects the distinct values of one run.
type Observer struct {
	opt   Options
	pairs pairTable
	slots map[uint64]int32 // distinct values per key, for MaxValuesPerSlot
	full  map[uint64]bool
	types map[typeKey]typeEntry
}

type typeKey struct {
	pc  uint64
	ret bool
	arg uint8
}

type typeEntry struct {
	value  signal.ValueType
	fields []signal.ValueType
}

// NewObserver returns an empty Observer.
func NewObserver(opt Options) *Observer {
	o := &Observer{opt: opt, slots: map[uint64]int32{}, full: map[uint64]bool{}}
	o.pairs.init(1 << 12)
	return o
}

// A key is a slot and the value's width: signal.Slot << 8 | width.
func key(s signal.Slot, width int) uint64 { return uint64(s)<<8 | uint64(width) }

func keySlot(k uint64) signal.Slot { return signal.Slot(k >> 8) }
func keyWidth(k uint64) int        { return int(k & 0xff) }

// AddRecords adds every record of rs.
func (o *Observer) AddRecords(rs []abi.Record) {
	for i := range rs {
		o.Add(&rs[i])
	}
}

// Add observes the values of one record: a scalar argument's or return
// value, a struct's fields, a pointer return's NULL or ERR_PTR. Pointers
// (by their type, or by signal's value rules without one), unreadable
// fields and markers are no values for a fuzzer.
func (o *Observer) Add(r *abi.Record) {
	ret, arg, ok := signal.Where(r)
	if !ok || r.Size == 0 || len(r.Values) == 0 {
		return
	}
	link := r.PC - o.opt.Slide
	var vt signal.ValueType
	var fts []signal.ValueType
	if o.opt.Types != nil {
		vt, fts = o.typesOf(link, ret, arg)
	}
	base := signal.MakeSlot(uint32(link), ret, arg, -1)
	if len(r.Values) == 1 && fts == nil {
		width := int(min(r.Size, 8))
		if vt.Size > 0 {
			width = int(vt.Size)
		}
		w := r.Values[0] & bitwidth.Mask(uint(width))
		if vt.Kind == signal.Pointer || (vt.Kind == signal.Auto && width == 8 && pointerLike(w)) {
			if !ret || (w != 0 && !abi.IsErrPtr(w)) {
				return
			}
		}
		o.observe(key(base, width), w)
		return
	}
	// A struct: NULL and ERR_PTR say all there is for a return; the
	// fields of a struct that is there are the values.
	if r.Ptr == 0 || abi.IsErrPtr(r.Ptr) {
		if ret {
			o.observe(key(base, 8), r.Ptr)
		}
		return
	}
	for i, w := range r.Values[:min(len(r.Values), 254)] {
		width := 8
		var ft signal.ValueType
		if i < len(fts) {
			ft = fts[i]
			if ft.Size > 0 {
				width = int(ft.Size)
			}
		}
		if w == abi.BadAddr || ft.Kind == signal.Pointer || ft.Kind == signal.Opaque || (width == 8 && ft.Kind != signal.Signed && ft.Kind != signal.Unsigned && pointerLike(w)) {
			continue
		}
		w &= bitwidth.Mask(uint(width))
		o.observe(key(base+signal.Slot(i+1), width), w)
	}
}

// pointerLike is signal's value rule for an 8-byte word without a type:
// a kernel address, or one in [2^40, 2^47), where user addresses live
// and integers do not.
func pointerLike(w uint64) bool {
	return w >= 0xffff800000000000 && w < 0xffffffffffff0000 || w >= 1<<40 && w < 1<<47
}

func (o *Observer) typesOf(link uint64, ret bool, arg uint8) (signal.ValueType, []signal.ValueType) {
	if o.types == nil {
		o.types = map[typeKey]typeEntry{}
	}
	k := typeKey{link, ret, arg}
	e, ok := o.types[k]
	if !ok {
		e.value, e.fields = o.opt.Types.Types(link, ret, arg)
		o.types[k] = e
	}
	return e.value, e.fields
}

func (o *Observer) observe(k, v uint64) {
	i, ok := o.pairs.lookup(k, v)
	if ok {
		o.pairs.count[i]++
		return
	}
	if o.full[k] {
		return
	}
	n := o.slots[k] + 1
	if int(n) > o.opt.maxValuesPerSlot() {
		o.full[k] = true
		return
	}
	o.slots[k] = n
	o.pairs.place(i, k, v, 1)
}

// Run returns what the Observer saw. The Observer must not be used after.
func (o *Observer) Run() *Run {
	return &Run{pairs: o.pairs, noisy: len(o.full)}
}

// Run is the distinct values of one run.
type Run struct {
	pairs pairTable
	noisy int
}

// Pairs is the number of distinct (slot, value) pairs of the run.
func (r *Run) Pairs() int { return r.pairs.n }

// Hints are the stable values of some runs, by function.
type Hints struct {
	Runs  int
	Funcs []Func // by pc
	// Stable counts the distinct (slot, value) pairs every run saw;
	// Flaky the pairs of each run that some other run lacked, summed
	// over the runs.
	Stable, Flaky int
	// Noisy counts the slots that had more distinct values in a run than
	// Options.MaxValuesPerSlot (summed over the runs).
	Noisy int
}

// Func is the hints of one function.
type Func struct {
	// PC is the function's link-time address: the low 32 bits the slots
	// carry, in the kernel's top 2 GiB (text and modules).
	PC   uint64
	Args []Slot // arguments' and fields' values, by argument and field
	// Returns is the function's return values, nil when none was stable.
	Returns *Returns
	// Capped counts the candidates MaxPerPC left out.
	Capped int
}

// Slot is the values of one argument, one field, or a returned struct's
// field.
type Slot struct {
	Ret   bool
	Arg   int
	Field int // -1: the argument itself
	Width int // bytes
	// Values observed in every run, most frequent first.
	Values []uint64
	// Candidates: Expand of each value, special values left out, in
	// the order of Values.
	Candidates []uint64
}

// Returns is what a function returned in every run: the values and the
// errnos (of an int, or of an ERR_PTR), each sorted.
type Returns struct {
	Values []int64
	Errnos []int64
}

// Stable intersects runs: a (slot, value) pair is kept when every run
// saw it.
func Stable(opt Options, runs ...*Run) (*Hints, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("hints: no runs")
	}
	if len(runs) > MaxRuns {
		return nil, fmt.Errorf("hints: %d runs; at most %d", len(runs), MaxRuns)
	}
	h := &Hints{Runs: len(runs)}
	// The smallest run bounds what can be in all of them.
	small := slices.MinFunc(runs, func(a, b *Run) int { return a.pairs.n - b.pairs.n })
	type pair struct {
		k, v  uint64
		count uint64
	}
	var stable []pair
	all := uint64(0)
	for _, r := range runs {
		all += uint64(r.pairs.n)
		h.Noisy += r.noisy
	}
	for i, k := range small.pairs.keys {
		if small.pairs.used[i] == 0 {
			continue
		}
		v := small.pairs.vals[i]
		count := uint64(0)
		in := true
		for _, r := range runs {
			j, ok := r.pairs.lookup(k, v)
			if !ok {
				in = false
				break
			}
			count += uint64(r.pairs.count[j])
		}
		if in {
			stable = append(stable, pair{k, v, count})
		}
	}
	h.Stable = len(stable)
	h.Flaky = int(all) - len(stable)*len(runs)
	// By function, then most frequent first; ties by slot and value.
	slices.SortFunc(stable, func(a, b pair) int {
		return cmp.Or(cmp.Compare(keySlot(a.k).Func(), keySlot(b.k).Func()),
			cmp.Compare(b.count, a.count), cmp.Compare(a.k, b.k), cmp.Compare(a.v, b.v))
	})
	maxPC := opt.maxPerPC()
	for len(stable) > 0 {
		fn := keySlot(stable[0].k).Func()
		end := 1
		for end < len(stable) && keySlot(stable[end].k).Func() == fn {
			end++
		}
		f := Func{PC: 0xffffffff00000000 | uint64(fn)}
		slots := map[uint64]*Slot{}
		seen := map[uint64]map[uint64]bool{}
		budget := maxPC
		for _, p := range stable[:end] {
			s := keySlot(p.k)
			if s.Ret() && s.Field() < 0 {
				if f.Returns == nil {
					f.Returns = &Returns{}
				}
				addReturn(f.Returns, p.v, keyWidth(p.k))
				continue
			}
			var cands []uint64
			for _, c := range Expand(p.v, keyWidth(p.k)) {
				if !seen[p.k][c] {
					cands = append(cands, c)
				}
			}
			if len(cands) == 0 {
				continue
			}
			if len(cands) > budget {
				f.Capped += len(cands)
				continue
			}
			budget -= len(cands)
			sl := slots[p.k]
			if sl == nil {
				sl = &Slot{Ret: s.Ret(), Arg: int(s.Arg()), Field: s.Field(), Width: keyWidth(p.k)}
				slots[p.k] = sl
				seen[p.k] = map[uint64]bool{}
			}
			sl.Values = append(sl.Values, p.v)
			for _, c := range cands {
				seen[p.k][c] = true
			}
			sl.Candidates = append(sl.Candidates, cands...)
		}
		for _, sl := range slots {
			f.Args = append(f.Args, *sl)
		}
		slices.SortFunc(f.Args, func(a, b Slot) int {
			return cmp.Or(boolCmp(a.Ret, b.Ret), cmp.Compare(a.Arg, b.Arg), cmp.Compare(a.Field, b.Field))
		})
		if f.Returns != nil {
			slices.Sort(f.Returns.Values)
			slices.Sort(f.Returns.Errnos)
		}
		if len(f.Args) > 0 || f.Returns != nil {
			h.Funcs = append(h.Funcs, f)
		}
		stable = stable[end:]
	}
	return h, nil
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func addReturn(r *Returns, w uint64, width int) {
	v := bitwidth.SignExtend(w, uint(width)) // a width of 0 is the whole word
	if v < 0 && v >= -abi.MaxErrno {
		r.Errnos = append(r.Errnos, -v)
		return
	}
	r.Values = append(r.Values, v)
}

// Expand returns the candidates syzkaller's hints make of a value v of
// width bytes: v cut to each width of 8, 4, 2 and 1 byte that fits,
// sign-extended from that width when its top bit is set, and the same of
// its bytes swapped (big endian). Special values are left out: those a
// fuzzer's random integers hit anyway (syzkaller's special integers, −1
// of the width, numbers below 16).
func Expand(v uint64, width int) []uint64 {
	var out []uint64
	add := func(c uint64, w int) {
		m := bitwidth.Mask(uint(w))
		if special(c&m, w) || slices.Contains(out, c) {
			return
		}
		out = append(out, c)
	}
	for _, w := range [...]int{8, 4, 2, 1} {
		if w > width && width > 0 {
			continue
		}
		m := bitwidth.Mask(uint(w))
		t := v & m
		for _, c := range [2]uint64{t, swap(t, w)} {
			add(c, w)
			if w < 8 && bitwidth.Negative(c, uint(w)) {
				add(c|^m, w) // sign-extended
			}
			if w == 1 {
				break // one byte has no byte order
			}
		}
	}
	return out
}

func swap(t uint64, w int) uint64 {
	return bits.ReverseBytes64(t) >> (64 - 8*uint(w))
}

// specialInts are syzkaller's special integers (prog/rand.go): a
// fuzzer's generator makes them often, so hints leave them out.
var specialInts = map[uint64]bool{}

func init() {
	for _, v := range []uint64{
		0, 1, 31, 32, 63, 64, 127, 128, 129, 255, 256, 257, 511, 512,
		1023, 1024, 1025, 2047, 2048, 4095, 4096,
		1<<15 - 1, 1 << 15, 1<<15 + 1, 1<<16 - 1, 1 << 16, 1<<16 + 1,
		1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<32 - 1, 1 << 32, 1<<32 + 1,
	} {
		specialInts[v] = true
	}
}

// special tells whether t, a value of w bytes, is not worth a candidate.
func special(t uint64, w int) bool {
	return t < 16 || specialInts[t] || t == bitwidth.Mask(uint(w))
}

// pairTable is an open-addressing set of (key, value) pairs with a count
// each: a map of structs per value is what made this slow.
type pairTable struct {
	keys, vals []uint64
	count      []uint32
	used       []uint8
	n          int
	shift      uint
}

func (t *pairTable) init(size int) {
	t.keys, t.vals = make([]uint64, size), make([]uint64, size)
	t.count, t.used = make([]uint32, size), make([]uint8, size)
	t.shift = uint(64 - bits.Len(uint(size-1)))
	t.n = 0
}

func hash2(k, v uint64) uint64 {
	return (k*0x9E3779B97F4A7C15 ^ v) * 0xff51afd7ed558ccd
}

func (t *pairTable) lookup(k, v uint64) (int, bool) {
	m := len(t.keys) - 1
	for i := int(hash2(k, v) >> t.shift); ; i = (i + 1) & m {
		if t.used[i] == 0 {
			return i, false
		}
		if t.keys[i] == k && t.vals[i] == v {
			return i, true
		}
	}
}

func (t *pairTable) place(i int, k, v uint64, count uint32) {
	t.keys[i], t.vals[i], t.count[i], t.used[i] = k, v, count, 1
	t.n++
	if 2*t.n > len(t.keys) {
		old := *t
		t.init(2 * len(old.keys))
		for j := range old.keys {
			if old.used[j] != 0 {
				i, _ := t.lookup(old.keys[j], old.vals[j])
				t.keys[i], t.vals[i], t.count[i], t.used[i] = old.keys[j], old.vals[j], old.count[j], 1
				t.n++
			}
		}
	}
}
