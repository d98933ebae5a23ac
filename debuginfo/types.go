package debuginfo

import (
	"fmt"
	"strings"
)

// Kind is the class of a Type.
type Kind uint8

const (
	KindOther Kind = iota
	KindVoid
	KindInt  // signed integer
	KindUint // unsigned integer (also char when unsigned)
	KindBool
	KindFloat
	KindEnum
	KindPointer
	KindStruct
	KindUnion
	KindArray
	KindFunc
)

var kindNames = [...]string{"other", "void", "int", "uint", "bool", "float", "enum", "pointer", "struct", "union", "array", "func"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind%d", k)
}

// TypeID indexes Index.Types; NoType (-1) means unknown or void.
type TypeID int32

// NoType is the TypeID of a missing type.
const NoType TypeID = -1

// Type is a C type with typedefs and qualifiers resolved for its class
// but kept in its Name, which is the C spelling ("const struct path *",
// "umode_t").
type Type struct {
	Kind Kind
	Name string
	Size uint32 // bytes
	// Elem is a pointer's target or an array's element type.
	Elem TypeID
	// Members of a struct or union, in declaration order. Only the
	// structs that parameters point to or hold carry them; nested ones
	// keep their name and size only.
	Members []Member
	// Enumerators of an enum.
	Enumerators []Enumerator
	// Tag is the struct, union or enum tag without the keyword.
	Tag string
}

// Member is one direct member of a struct or union.
type Member struct {
	Name string
	Type TypeID
	// Off is the byte offset of the member (of its containing storage
	// unit for bitfields, widened to the byte that holds its first bit).
	Off  uint64
	Size uint64 // bytes
	// BitOff and BitSize locate a bitfield: BitOff counts bits from the
	// start of the struct; BitSize 0 means the member is no bitfield.
	BitOff  uint64
	BitSize uint64
}

// Enumerator is one named value of an enum.
type Enumerator struct {
	Name  string
	Value int64
}

// Param is one formal parameter.
type Param struct {
	Name string
	Type TypeID
}

// Func is one function's entry point and what is known of its signature.
type Func struct {
	Name string
	// Low and High are link-time addresses; High is 0 when the size is
	// unknown (System.map).
	Low, High uint64
	File      string // where it is declared (may be a header)
	Line      int
	// Unit is the source file of its compile unit ("fs/open.c"), which
	// tells static functions of one name apart.
	Unit   string
	Static bool
	// HasSig tells whether Params and Ret come from debug info (DWARF or
	// BTF); without it only the name is known.
	HasSig bool
	Params []Param
	Ret    TypeID // NoType for void or unknown
}

// TypeName is the C spelling of t's type, or "void".
func (ix *Index) TypeName(id TypeID) string {
	if t := ix.Type(id); t != nil {
		return t.Name
	}
	return "void"
}

// Type returns the type of id, or nil for NoType and ids out of range.
func (ix *Index) Type(id TypeID) *Type {
	if ix == nil || id < 0 || int(id) >= len(ix.Types) {
		return nil
	}
	return &ix.Types[id]
}

// StructOf returns the struct or union that id is, or points to, or nil.
func (ix *Index) StructOf(id TypeID) *Type {
	t := ix.Type(id)
	if t != nil && t.Kind == KindPointer {
		t = ix.Type(t.Elem)
	}
	if t != nil && (t.Kind == KindStruct || t.Kind == KindUnion) {
		return t
	}
	return nil
}

// Signature renders f as a C prototype line.
func (ix *Index) Signature(f *Func) string {
	var b strings.Builder
	b.WriteString(ix.TypeName(f.Ret))
	b.WriteByte(' ')
	b.WriteString(f.Name)
	b.WriteByte('(')
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ix.TypeName(p.Type))
		if p.Name != "" {
			b.WriteByte(' ')
			b.WriteString(p.Name)
		}
	}
	b.WriteByte(')')
	return b.String()
}
