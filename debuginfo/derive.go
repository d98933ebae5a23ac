package debuginfo

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
)

// DWARFLayout derives, from debug info alone, the shapes the kcov
// dataflow instrumentation gives every function (docs/layout.md): one
// entry record per parameter (a marker for none), one return record
// (size 0 for void), struct pointers and by-value structs expanded into
// one (offset, size) pair per direct member. It decodes v1 traces of
// kernels built by other compilers. Parameters the compiler could not
// recover are not in DWARF's view: where our plugin skipped one, its own
// layout (a PluginLayout placed first) is right and this one is not.
//
// MaxFields is the cap the kernel was built with
// (-kcovdf-dataflow-max-fields; 0: none): each struct expansion then has
// its first MaxFields fields, as the plugin emits them.
type DWARFLayout struct {
	MaxFields int
}

func (DWARFLayout) Name() string { return "dwarf" }

func (d DWARFLayout) Bind(ix *Index) (*Binding, error) {
	if ix == nil || (ix.Source != SourceDWARF && ix.Source != SourceBTF) {
		return nil, fmt.Errorf("no DWARF or BTF to derive layouts from")
	}
	b := &Binding{}
	// One field table per struct, shared by every function that takes
	// it: the lab kernel's 14,000 functions would otherwise hold 18 MB
	// of copies of the same few hundred tables.
	tables := map[*Type][]abi.Field{}
	for i := range ix.Funcs {
		f := &ix.Funcs[i]
		if !f.HasSig {
			continue
		}
		s := ix.deriveShape(f, d.MaxFields, tables)
		b.Funcs = append(b.Funcs, Bound{Addr: f.Low, Shape: &s})
	}
	return b, nil
}

// DeriveShape is the shape the instrumentation gives f.
func (ix *Index) DeriveShape(f *Func) abi.FuncShape { return ix.DeriveShapeCapped(f, 0) }

// DeriveShapeCapped is the shape the instrumentation gives f when built
// with a cap of max fields per struct expansion (0: none).
func (ix *Index) DeriveShapeCapped(f *Func, max int) abi.FuncShape {
	return ix.deriveShape(f, max, nil)
}

// deriveShape is DeriveShapeCapped with the field tables kept in tables
// (nil: made afresh); shapes that share a table must not change it.
func (ix *Index) deriveShape(f *Func, max int, tables map[*Type][]abi.Field) abi.FuncShape {
	s := abi.FuncShape{Func: f.Name, File: f.Unit, Static: f.Static}
	for i, p := range f.Params {
		a := abi.ArgShape{Idx: i, Name: p.Name, Type: ix.TypeName(p.Type), Fields: []abi.Field{}}
		a.Size, a.Struct, a.Fields = ix.valueShape(p.Type, tables)
		a.Fields, a.Capped = abi.CapFields(a.Fields, max)
		s.Args = append(s.Args, a)
	}
	if len(f.Params) == 0 {
		s.Args = []abi.ArgShape{{Idx: 0, Size: 0, Marker: true, Fields: []abi.Field{}}}
	}
	r := &abi.RetShape{Type: ix.TypeName(f.Ret), Fields: []abi.Field{}}
	if t := ix.Type(f.Ret); t != nil && t.Kind != KindVoid {
		r.Size, r.Struct, r.Fields = ix.valueShape(f.Ret, tables)
		r.Fields, r.Capped = abi.CapFields(r.Fields, max)
	}
	s.Ret = r
	return s
}

// valueShape applies the instrumentation's rules to one value's type.
func (ix *Index) valueShape(id TypeID, tables map[*Type][]abi.Field) (size int, tag string, fields []abi.Field) {
	fields = []abi.Field{}
	t := ix.Type(id)
	if t == nil {
		return 8, "", fields
	}
	table := func(st *Type) []abi.Field {
		if tables == nil {
			return FieldTable(st)
		}
		ft, ok := tables[st]
		if !ok {
			ft = FieldTable(st)
			tables[st] = ft
		}
		return ft
	}
	switch t.Kind {
	case KindPointer:
		if st := ix.Type(t.Elem); st != nil && st.Kind == KindStruct {
			if ft := table(st); len(ft) > 0 {
				return int(t.Size), st.Tag, ft
			}
		}
		return int(t.Size), "", fields
	case KindStruct:
		return int(t.Size), t.Tag, table(t)
	}
	return int(t.Size), "", fields
}

// FieldTable is the instrumentation's field table of a struct: one pair
// per direct member with a size, bitfields widened to their bytes.
func FieldTable(t *Type) []abi.Field {
	fields := []abi.Field{}
	for _, m := range t.Members {
		if m.Size == 0 {
			continue
		}
		fields = append(fields, abi.Field{Name: m.Name, Off: m.Off, Size: m.Size})
	}
	return fields
}

// SameExpansion tells whether a field table derived from DWARF (the whole
// struct) is the one a layout recorded: the same pairs, or, when the
// layout says its table was capped, the struct's count of fields and the
// same first pairs.
func SameExpansion(derived, recorded []abi.Field, capped int) bool {
	if capped > 0 {
		if len(derived) != capped || len(recorded) > capped {
			return false
		}
		derived = derived[:len(recorded)]
	}
	if len(derived) != len(recorded) {
		return false
	}
	for i := range derived {
		if derived[i].Off != recorded[i].Off || derived[i].Size != recorded[i].Size {
			return false
		}
	}
	return true
}
