package signal

import (
	"fmt"
	"math/bits"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/bitwidth"
)

// Feature is one element of a signal: where a value was seen and its
// class, packed into a word (docs/signal.md):
//
//	bits 63–32  function: the low 32 bits of its link-time address (or
//	            an identity the caller chose, Options.FuncID)
//	bit  31     1 for a return value, 0 for an argument
//	bits 30–24  argument index (0 for a return)
//	bits 23–16  0 for the value itself (a scalar, or the pointer of an
//	            expanded struct), i+1 for field i
//	bits 15–12  the value's class (Class)
//	bits 11–0   the class's payload
//
// Sorting features sorts them by function, then slot, then class.
type Feature uint64

// Class is the category of a value (bits 15–12 of a Feature).
type Class uint8

const (
	ClassZero       Class = iota // an integer 0
	ClassSmall                   // 1 … 255, exactly: payload the value
	ClassSmallNeg                // −1 … −256, exactly: payload −value
	ClassLog                     // above 255: payload bit length << 2 | popcount bucket
	ClassLogNeg                  // below −256: the same of −value
	ClassErrno                   // a return in −4095 … −1: payload the errno
	ClassNull                    // a NULL pointer
	ClassErrPtr                  // an ERR_PTR: payload the errno
	ClassKernelPtr               // a kernel address (bit 63 set)
	ClassUserPtr                 // a user-space address
	ClassUnreadable              // 0xBADADD85 in a field: the kernel could not read it
	ClassRelation                // field i against field j: payload op << 8 | j
	ClassCalled                  // a no-parameter entry or a void return: the call happened
	numClasses
)

var classNames = [numClasses]string{"zero", "small", "small-neg", "log", "log-neg", "errno", "null", "err-ptr", "kernel-ptr", "user-ptr", "unreadable", "rel", "called"}

func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class%d", uint8(c))
}

// Relations between two fields of one struct (ClassRelation).
const (
	RelLess    = 0
	RelEqual   = 1
	RelGreater = 2
)

// Slot is a Feature without its class: one (function, argument or
// return, field). Feature >> 16.
type Slot uint64

// MakeSlot builds the slot of function id fn; field is -1 for the value
// itself, i for field i (at most 254).
func MakeSlot(fn uint32, ret bool, arg uint8, field int) Slot {
	s := Slot(fn)<<16 | Slot(arg&0x7f)<<8 | Slot(field+1)&0xff
	if ret {
		s |= 1 << 15
	}
	return s
}

func (s Slot) Func() uint32 { return uint32(s >> 16) }
func (s Slot) Ret() bool    { return s&(1<<15) != 0 }

// Arg is the argument index (0 for returns).
func (s Slot) Arg() uint8 { return uint8(s>>8) & 0x7f }

// Field is the field index, or -1 for the value itself.
func (s Slot) Field() int { return int(s&0xff) - 1 }

// Feature joins the slot and a class with its payload.
func (s Slot) Feature(c Class, payload uint16) Feature {
	return Feature(s)<<16 | Feature(c&0xf)<<12 | Feature(payload&0xfff)
}

func (s Slot) String() string {
	where := fmt.Sprintf("%#x:arg%d", s.Func(), s.Arg())
	if s.Ret() {
		where = fmt.Sprintf("%#x:ret", s.Func())
	}
	if f := s.Field(); f >= 0 {
		where += fmt.Sprintf(".%d", f)
	}
	return where
}

func (f Feature) Slot() Slot      { return Slot(f >> 16) }
func (f Feature) Class() Class    { return Class(f>>12) & 0xf }
func (f Feature) Payload() uint16 { return uint16(f) & 0xfff }

// String is the feature as docs/signal.md writes it:
// "0x811a2480:arg2.0=small(3)".
func (f Feature) String() string {
	return f.Slot().String() + "=" + f.Class().String() + f.payloadText()
}

func (f Feature) payloadText() string {
	p := f.Payload()
	switch f.Class() {
	case ClassSmall:
		return fmt.Sprintf("(%d)", p)
	case ClassSmallNeg:
		return fmt.Sprintf("(-%d)", p)
	case ClassLog, ClassLogNeg:
		return fmt.Sprintf("(2^%d,pop%s)", p>>2-1, popText[p&3])
	case ClassErrno, ClassErrPtr:
		return fmt.Sprintf("(%d)", p)
	case ClassRelation:
		return fmt.Sprintf("(%s%d)", relText[(p>>8)&3], p&0xff)
	}
	return ""
}

var (
	popText = [4]string{"1", "2", "3", "4+"}
	relText = [4]string{"<", "==", ">", "?"}
)

// ValueKind says how a value is read: by the value rules alone (Auto), or
// by its C type.
type ValueKind uint8

const (
	Auto     ValueKind = iota // decided by the value rules (docs/signal.md)
	Signed                    // a signed integer or enum
	Unsigned                  // an unsigned integer, bool or char
	Pointer                   // a pointer
	Opaque                    // a struct, float or array word: by the value rules, as Auto
)

// ValueType is what the caller knows of one value: its kind and size in
// bytes (0: the record's size, or 8 for a field).
type ValueType struct {
	Kind ValueKind
	Size uint8
}

// classify returns a value's class and payload. ret: a return value
// (errnos are classes of their own there).
func classify(w uint64, t ValueType, ret bool) (Class, uint16) {
	size := uint(t.Size)
	if size == 0 || size > 8 {
		size = 8
	}
	w &= bitwidth.Mask(size)
	switch t.Kind {
	case Pointer:
		switch {
		case w == 0:
			return ClassNull, 0
		case abi.IsErrPtr(w):
			return ClassErrPtr, uint16(-int64(w))
		case w >= 1<<63:
			return ClassKernelPtr, 0
		default:
			return ClassUserPtr, 0
		}
	case Auto, Opaque:
		if size == 8 {
			return classifyWord(w, ret)
		}
		if w == 0 {
			return ClassZero, 0
		}
		v := bitwidth.SignExtend(w, size)
		if v < 0 && v >= -65536 {
			return negative(v, ret)
		}
		return positive(w)
	case Signed:
		v := bitwidth.SignExtend(w, size)
		if v < 0 {
			return negative(v, ret)
		}
		return positive(w)
	}
	// Unsigned.
	if w == 0 {
		return ClassZero, 0
	}
	return positive(w)
}

// classifyWord is classify of an 8-byte value without a type, the most
// common case (every struct field), in as few branches as it takes.
func classifyWord(w uint64, ret bool) (Class, uint16) {
	switch {
	case w < 256:
		if w == 0 {
			return ClassZero, 0
		}
		return ClassSmall, uint16(w)
	case w >= 0xffffffffffff0000: // −65,536 … −1
		return negative(int64(w), ret)
	case w >= 0xffff800000000000:
		return ClassKernelPtr, 0
	case w >= 1<<40 && w < 1<<47:
		return ClassUserPtr, 0
	}
	return positive(w)
}

func negative(v int64, ret bool) (Class, uint16) {
	switch {
	case ret && v >= -abi.MaxErrno:
		return ClassErrno, uint16(-v)
	case v >= -256:
		return ClassSmallNeg, uint16(-v)
	}
	c, p := positive(uint64(-v))
	return c + 1, p // ClassLog → ClassLogNeg
}

func positive(w uint64) (Class, uint16) {
	switch {
	case w == 0:
		return ClassZero, 0
	case w < 256:
		return ClassSmall, uint16(w)
	}
	pop := bits.OnesCount64(w) - 1
	if pop > 3 {
		pop = 3
	}
	return ClassLog, uint16(bits.Len64(w))<<2 | uint16(pop)
}
