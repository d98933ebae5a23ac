package abi

import (
	"fmt"
	"math"
)

// retSlot is where a function's return record length is kept in its block.
const retSlot = 256

// lengths holds a function's record lengths in words: by argument index,
// then the return record at retSlot; 0 means unknown.
type lengths [retSlot + 1]uint32

// Table answers "how long is the record of (pc, kind, arg_idx)" in a few
// nanoseconds: open addressing on the pc, because a map lookup per record
// is what made decoders slow. It is built from a Layout for exact decoding
// and filled as it goes when re-synchronising. Once built, any number of
// decoders may read it at once.
type Table struct {
	keys   []uint64   // pc of each slot, 0 when empty
	blocks []int32    // index into lens of each slot
	lens   []*lengths // each allocated once: pointers to them stay valid
	shift  uint
}

// NewTable makes an empty table sized for about n functions.
func NewTable(n int) *Table {
	t := &Table{}
	t.alloc(max(n, 64) * 2)
	return t
}

func (t *Table) alloc(slots int) {
	bits := uint(1)
	for 1<<bits < slots {
		bits++
	}
	t.keys = make([]uint64, 1<<bits)
	t.blocks = make([]int32, 1<<bits)
	t.shift = 64 - bits
}

func (t *Table) slot(pc uint64) int {
	return int((pc * 0x9E3779B97F4A7C15) >> t.shift)
}

// find returns the lengths of pc, nil when unknown (always for pc 0, which
// marks an empty slot). It is small enough to inline into the decoders'
// loops, which must make no call.
func (t *Table) find(pc uint64) *lengths {
	mask := len(t.keys) - 1
	for i := t.slot(pc); pc != 0; i = (i + 1) & mask {
		if k := t.keys[i]; k == pc {
			return t.lens[t.blocks[i]]
		} else if k == 0 {
			break
		}
	}
	return nil
}

// add returns the lengths of pc, adding an empty block when it has none;
// nil for pc 0, which marks an empty slot.
func (t *Table) add(pc uint64) *lengths {
	if pc == 0 {
		return nil
	}
	mask := len(t.keys) - 1
	for i := t.slot(pc); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case pc:
			return t.lens[t.blocks[i]]
		case 0:
			if 2*(len(t.lens)+1) > len(t.keys) {
				t.grow()
				return t.add(pc)
			}
			t.keys[i] = pc
			t.blocks[i] = int32(len(t.lens))
			t.lens = append(t.lens, new(lengths))
			return t.lens[len(t.lens)-1]
		}
	}
}

func (t *Table) grow() {
	keys, blocks := t.keys, t.blocks
	t.alloc(2 * len(keys))
	mask := len(t.keys) - 1
	for j, pc := range keys {
		if pc == 0 {
			continue
		}
		i := t.slot(pc)
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.blocks[i] = pc, blocks[j]
	}
}

// RecordLen returns the length in words of the record of (pc, kind,
// argIdx), or 0 when the table does not know it.
func (t *Table) RecordLen(pc uint64, k Kind, argIdx uint8) int {
	b := t.find(pc)
	if b == nil {
		return 0
	}
	if k == KindReturn {
		return int(b[retSlot])
	}
	return int(b[argIdx])
}

// Set records the length of (pc, kind, argIdx). It reports a conflict
// when a different length was known.
func (t *Table) Set(pc uint64, k Kind, argIdx uint8, words int) error {
	if words <= HeaderWords || words > math.MaxUint32 {
		return fmt.Errorf("pc %#x %s arg %d: %d words is no record length (header and at least one value)", pc, k, argIdx, words)
	}
	b := t.add(pc)
	if b == nil {
		return fmt.Errorf("pc 0 cannot be a function")
	}
	i := int(argIdx)
	if k == KindReturn {
		i = retSlot
	}
	if old := b[i]; old != 0 && int(old) != words {
		return fmt.Errorf("pc %#x %s arg %d: length %d conflicts with %d", pc, k, argIdx, words, old)
	}
	b[i] = uint32(words)
	return nil
}

// Functions is the number of functions the table knows.
func (t *Table) Functions() int { return len(t.lens) }

// TableFromLayout builds the lookup table of a layout; slide is added to
// every pc (the KASLR offset of the traced boot, 0 for kallsyms addresses).
// Conflicting shapes at one address are returned as errors and that
// function's conflicting entries are left unknown.
func TableFromLayout(l *Layout, slide uint64) (*Table, []error) {
	t := NewTable(len(l.Funcs))
	var errs []error
	l.Addresses(func(pc uint64, fn *FuncShape) {
		pc += slide
		for _, a := range fn.Args {
			if err := t.Set(pc, KindEntry, uint8(a.Idx), RecordWords(len(a.Fields))); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", fn.Func, err))
			}
		}
		if fn.Ret != nil {
			if err := t.Set(pc, KindReturn, 0, RecordWords(len(fn.Ret.Fields))); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", fn.Func, err))
			}
		}
	})
	return t, errs
}
