package calls

import (
	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
)

// Slot is what one captured word holds, as far as the types tell: the
// width of the C object it was read from and whether that is a pointer.
// Analyses that compare or search raw words (value flow, trace diff) use
// slots instead of rendering every call.
type Slot struct {
	Width   uint8 // bytes, 1 to 8
	Pointer bool
	// Unsigned: the type is known to hold no negative numbers (unsigned
	// integers, bools, pointers); false when it is signed or unknown.
	Unsigned bool
}

// Slots says how to read a value's words: one slot per word, and
// whether the captured pointer is itself the value (a pointer to a
// struct whose fields were expanded). It follows the choices Args and
// Ret make when they render, so that a word found in slots reads the same
// in the rendered text.
type Slots struct {
	Words []Slot
	// PtrIsValue: the argument is a pointer whose target was expanded;
	// Value.Ptr is the argument's own value.
	PtrIsValue bool
	// Fields: the words are struct fields (else one scalar word).
	Fields bool
}

// SlotsOf returns the slots of value v of call i (ret: its return).
func (n *Namer) SlotsOf(t *Tree, i int, v *Value, ret bool) Slots {
	fi := n.Func(t.Calls[i].PC)
	words := t.Words(v)
	var typ *debuginfo.Type
	tname := ""
	idx := int(v.Idx)
	if ret {
		idx = 0
		if fi.Func != nil && fi.Func.HasSig {
			typ, tname = n.Index.Type(fi.Func.Ret), n.Index.TypeName(fi.Func.Ret)
		} else if fi.Shape != nil && fi.Shape.Ret != nil {
			tname = fi.Shape.Ret.Type
		}
	} else {
		typ, _, tname = n.argType(fi, idx)
	}
	shapeFields := fieldNames(fi.Shape, idx, ret)
	st, isPtr := n.structOf(typ, tname)
	var s Slots
	s.Words = make([]Slot, len(words))
	if !(len(shapeFields) > 0 || (st != nil && len(words) > 1)) {
		w := v.Size
		if w == 0 || w > 8 {
			w = 8
		}
		t := typ
		if t == nil {
			t = guessType(tname, uint32(w))
		}
		for k := range s.Words {
			s.Words[k] = Slot{Width: w, Pointer: isPtr, Unsigned: isPtr || tname != "" && unsignedKind(t.Kind)}
		}
		return s
	}
	s.Fields, s.PtrIsValue = true, isPtr
	mems, _ := n.memberFields(st, shapeFields, len(words))
	for k := range s.Words {
		sl := Slot{Width: 8}
		switch {
		case mems != nil:
			sl.Width = width(mems[k].Size)
			if mt := n.Index.Type(mems[k].Type); mt != nil {
				sl.Pointer = mt.Kind == debuginfo.KindPointer
				sl.Unsigned = mems[k].BitSize == 0 && unsignedKind(mt.Kind)
			}
		case k < len(shapeFields):
			sl.Width = width(shapeFields[k].Size)
		}
		s.Words[k] = sl
	}
	return s
}

func unsignedKind(k debuginfo.Kind) bool {
	return k == debuginfo.KindUint || k == debuginfo.KindBool || k == debuginfo.KindPointer
}

func width(size uint64) uint8 {
	if size == 0 || size > 8 {
		return 8
	}
	return uint8(size)
}

// KernelAddress tells whether w looks like a kernel virtual address (the
// upper canonical half, ERR_PTR values and the fault marker excluded).
func KernelAddress(w uint64) bool {
	return w >= 0xffff800000000000 && !abi.IsErrPtr(w) && w != abi.BadAddr
}
