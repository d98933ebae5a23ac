package signal

import (
	"hash/fnv"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
)

// TypesFromDebugInfo gives values the C types the traced kernel's debug
// info (DWARF or BTF) declares, as `kcovdf show` renders them: signed
// integers and enums, unsigned integers and bools, pointers, and the
// members of the structs that parameters point to or hold.
func TypesFromDebugInfo(ix *debuginfo.Index) Types {
	return &debugTypes{ix: ix, memo: map[typeKey]typeEntry{}}
}

type debugTypes struct {
	ix   *debuginfo.Index
	memo map[typeKey]typeEntry
}

type typeKey struct {
	pc  uint64
	ret bool
	arg uint8
}

type typeEntry struct {
	value  ValueType
	fields []ValueType
}

func (d *debugTypes) Types(linkPC uint64, ret bool, arg uint8) (ValueType, []ValueType) {
	k := typeKey{linkPC, ret, arg}
	if e, ok := d.memo[k]; ok {
		return e.value, e.fields
	}
	var e typeEntry
	f := d.ix.At(linkPC)
	if f != nil && f.HasSig {
		id := debuginfo.NoType
		switch {
		case ret:
			id = f.Ret
		case int(arg) < len(f.Params):
			id = f.Params[arg].Type
		}
		if t := d.ix.Type(id); t != nil {
			e.value = valueType(t)
			st := t
			if t.Kind == debuginfo.KindPointer {
				st = d.ix.Type(t.Elem)
			}
			if st != nil && (st.Kind == debuginfo.KindStruct || st.Kind == debuginfo.KindUnion) {
				for _, m := range st.Members {
					if m.Size == 0 {
						continue
					}
					ft := ValueType{Kind: Opaque, Size: uint8(min(m.Size, 8))}
					if mt := d.ix.Type(m.Type); mt != nil && m.BitSize == 0 {
						ft = valueType(mt)
					}
					e.fields = append(e.fields, ft)
				}
			}
		}
	}
	d.memo[k] = e
	return e.value, e.fields
}

func valueType(t *debuginfo.Type) ValueType {
	size := uint8(min(t.Size, 8))
	switch t.Kind {
	case debuginfo.KindInt, debuginfo.KindEnum:
		return ValueType{Signed, size}
	case debuginfo.KindUint, debuginfo.KindBool:
		return ValueType{Unsigned, size}
	case debuginfo.KindPointer:
		return ValueType{Pointer, 8}
	case debuginfo.KindStruct, debuginfo.KindUnion, debuginfo.KindFloat, debuginfo.KindArray:
		return ValueType{Opaque, size}
	}
	return ValueType{}
}

// FuncIDByName names functions by the 32-bit FNV-1a hash of their name in
// ix, for Options.FuncID: such features survive a rebuild of the kernel
// that moves its functions. Static functions of one name share an id; a
// pc ix does not know keeps the low 32 bits of its address.
func FuncIDByName(ix *debuginfo.Index) func(linkPC uint64) uint32 {
	return func(pc uint64) uint32 {
		f := ix.At(pc)
		if f == nil || f.Name == "" {
			return uint32(pc)
		}
		h := fnv.New32a()
		h.Write([]byte(f.Name))
		return h.Sum32()
	}
}

// TypesFromLayout gives values the types a layout spells (the compiler
// plugin's, or one derived from debug info), for a kernel whose debug
// info is not at hand: the kind from the C spelling of each parameter and
// return, and each field's size, so that a 4-byte field holding −1 is
// read as −1.
func TypesFromLayout(b *debuginfo.Binding) Types {
	return &layoutTypes{b: b, memo: map[typeKey]typeEntry{}}
}

type layoutTypes struct {
	b    *debuginfo.Binding
	memo map[typeKey]typeEntry
}

func (l *layoutTypes) Types(linkPC uint64, ret bool, arg uint8) (ValueType, []ValueType) {
	k := typeKey{linkPC, ret, arg}
	if e, ok := l.memo[k]; ok {
		return e.value, e.fields
	}
	var e typeEntry
	if s := l.b.Shape(linkPC); s != nil {
		var spelling string
		var size int
		var fields []abi.Field
		switch {
		case ret && s.Ret != nil:
			spelling, size, fields = s.Ret.Type, s.Ret.Size, s.Ret.Fields
		case !ret:
			for _, a := range s.Args {
				if a.Idx == int(arg) {
					spelling, size, fields = a.Type, a.Size, a.Fields
				}
			}
		}
		if spelling != "" {
			e.value = valueType(calls.TypeOfSpelling(spelling, uint32(size)))
		}
		for _, f := range fields {
			ft := ValueType{Kind: Auto, Size: uint8(min(f.Size, 8))}
			if f.Bits > 0 {
				ft = ValueType{Kind: Opaque, Size: uint8(min(f.Size, 8))}
			}
			e.fields = append(e.fields, ft)
		}
	}
	l.memo[k] = e
	return e.value, e.fields
}
