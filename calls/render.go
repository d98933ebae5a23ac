package calls

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/internal/bitwidth"
)

// FuncInfo is what is known of the function at one traced pc.
type FuncInfo struct {
	Name  string // "" when unknown
	Func  *debuginfo.Func
	Shape *abi.FuncShape
	// token stands for the pc of an unnamed function when redacting.
	token string
}

// Namer names calls and renders their values. Any of its sources may be
// missing: without an Index, names come from the layouts; without either,
// values are rendered as hex words.
type Namer struct {
	Index  *debuginfo.Index
	Space  debuginfo.Space
	Layout *debuginfo.Binding
	// MaxFields renders at most this many fields of a struct (0: all);
	// Rendered.More counts the others. A full trace has millions of
	// struct values of dozens of fields, most of which a reader does not
	// look at.
	MaxFields int
	// Redact, when set, puts tokens in place of the kernel addresses
	// among the rendered values, raw words and unnamed functions' pcs.
	Redact Redactor

	cache   map[uint64]*FuncInfo
	members map[*debuginfo.Type][]debuginfo.Member
}

// Func returns what is known of the function at a traced pc.
func (n *Namer) Func(pc uint64) *FuncInfo {
	if fi, ok := n.cache[pc]; ok {
		return fi
	}
	fi := &FuncInfo{}
	addr := n.Space.Link(pc)
	if n.Index != nil {
		if f := n.Index.At(addr); f != nil {
			fi.Func, fi.Name = f, f.Name
		}
	}
	if n.Layout != nil {
		if s := n.Layout.Shape(addr); s != nil {
			fi.Shape = s
			if fi.Name == "" {
				fi.Name = s.Func
			}
		}
	}
	if fi.Name == "" && n.Redact != nil && KernelAddress(pc) {
		_, fi.token = n.Redact.Token(pc)
	}
	if n.cache == nil {
		n.cache = map[uint64]*FuncInfo{}
	}
	n.cache[pc] = fi
	return fi
}

// Name is the function's name, or its pc in hex.
func (fi *FuncInfo) NameOr(pc uint64) string {
	switch {
	case fi.Name != "":
		return fi.Name
	case fi.token != "":
		return fi.token
	}
	return hex(pc)
}

// Redactor stands tokens in for kernel addresses (package redact).
type Redactor interface {
	// Token returns the word and the text that stand for kernel
	// address w; the same w gives the same token.
	Token(w uint64) (word uint64, text string)
}

// Word is w, or its token when n redacts and w is a kernel address: for
// the words outside rendered values (a pc, a captured pointer).
func (n *Namer) Word(w uint64) uint64 {
	if n.Redact != nil && KernelAddress(w) {
		w, _ = n.Redact.Token(w)
	}
	return w
}

// Hex is w in hex, or its token's text when n redacts and w is a kernel
// address.
func (n *Namer) Hex(w uint64) string {
	if n.Redact != nil && KernelAddress(w) {
		_, s := n.Redact.Token(w)
		return s
	}
	return hex(w)
}

// redacts tells whether a word read as a C object of size bytes (0:
// unknown), signed or not, is to be replaced by a token: a kernel address
// in a full word (the first word of a wider member, such as a list_head,
// counts). A signed integer close below zero is a number, though
// its word lies in the kernel's half: no randomised kernel address is
// within 2^24 of the top.
func (n *Namer) redacts(w, size uint64, signed bool) bool {
	return n.Redact != nil && (size == 0 || size >= 8) && KernelAddress(w) &&
		!(signed && int64(w) >= -1<<24)
}

// Field is one rendered struct field.
type Field struct {
	Name string `json:"name"`
	Text string `json:"text"`
	Raw  uint64 `json:"raw"`
}

// Rendered is one rendered value.
type Rendered struct {
	Name string `json:"name,omitempty"` // parameter name, "" for returns
	Type string `json:"type,omitempty"`
	// Text is the value as C would show it: "-100", "0x7ffe...",
	// "NULL", "-ENOENT", "{flags=0x8000, mode=0}".
	Text   string  `json:"text"`
	Raw    uint64  `json:"raw"`
	Fields []Field `json:"fields,omitempty"`
	// More is how many fields after Fields were not rendered
	// (Namer.MaxFields).
	More int `json:"more,omitempty"`
	// Errno is the error a return value carries (-ENOENT → 2), 0 if none.
	Errno int64 `json:"errno,omitempty"`
}

// Args renders a call's entry values (markers omitted).
func (n *Namer) Args(t *Tree, i int) []Rendered {
	c := &t.Calls[i]
	fi := n.Func(c.PC)
	var out []Rendered
	for _, v := range t.Args(i) {
		if v.Marker() {
			continue
		}
		var r Rendered
		typ, name, tname := n.argType(fi, int(v.Idx))
		r.Name, r.Type = name, tname
		if r.Name == "" {
			r.Name = "arg" + strconv.Itoa(int(v.Idx))
		}
		n.render(&r, typ, tname, fieldNames(fi.Shape, int(v.Idx), false), &v, t.Words(&v), false)
		out = append(out, r)
	}
	return out
}

// Ret renders a call's return value; ok is false when it has none (void,
// or no return record).
func (n *Namer) Ret(t *Tree, i int) (r Rendered, ok bool) {
	c := &t.Calls[i]
	if !c.HasRet || c.Ret.Marker() {
		return r, false
	}
	fi := n.Func(c.PC)
	var typ *debuginfo.Type
	if fi.Func != nil && fi.Func.HasSig {
		typ = n.Index.Type(fi.Func.Ret)
		r.Type = n.Index.TypeName(fi.Func.Ret)
	} else if fi.Shape != nil && fi.Shape.Ret != nil {
		r.Type = fi.Shape.Ret.Type
	}
	// Comparison functions return negative numbers that are no errnos.
	n.render(&r, typ, r.Type, fieldNames(fi.Shape, 0, true), &c.Ret, t.Words(&c.Ret), !comparisonLike(fi.Name))
	return r, true
}

// IsErr tells whether call i returned an errno or an ERR_PTR.
func (n *Namer) IsErr(t *Tree, i int) bool {
	r, ok := n.Ret(t, i)
	return ok && r.Errno != 0
}

func (n *Namer) argType(fi *FuncInfo, idx int) (*debuginfo.Type, string, string) {
	if fi.Func != nil && fi.Func.HasSig && idx < len(fi.Func.Params) {
		p := fi.Func.Params[idx]
		return n.Index.Type(p.Type), p.Name, n.Index.TypeName(p.Type)
	}
	if fi.Shape != nil {
		for _, a := range fi.Shape.Args {
			if a.Idx == idx {
				return nil, a.Name, a.Type
			}
		}
	}
	return nil, "", ""
}

func fieldNames(s *abi.FuncShape, idx int, ret bool) []abi.Field {
	if s == nil {
		return nil
	}
	if ret {
		if s.Ret != nil {
			return s.Ret.Fields
		}
		return nil
	}
	for _, a := range s.Args {
		if a.Idx == idx {
			return a.Fields
		}
	}
	return nil
}

// structOf tells whether a value of type typ (or, unknown, of the C
// spelling tname) is a pointer, and which struct or union its fields
// would be read from (nil: none known).
func (n *Namer) structOf(typ *debuginfo.Type, tname string) (st *debuginfo.Type, isPtr bool) {
	if typ == nil {
		return nil, strings.Contains(tname, "*")
	}
	switch typ.Kind {
	case debuginfo.KindPointer:
		if e := n.Index.Type(typ.Elem); e != nil && (e.Kind == debuginfo.KindStruct || e.Kind == debuginfo.KindUnion) {
			return e, true
		}
		return nil, true
	case debuginfo.KindStruct, debuginfo.KindUnion:
		return typ, false
	}
	return nil, false
}

// render fills r from v, by typ when known, else by the type's spelling.
func (n *Namer) render(r *Rendered, typ *debuginfo.Type, tname string, shapeFields []abi.Field, v *Value, words []uint64, ret bool) {
	if len(words) > 0 {
		r.Raw = words[0]
	}
	st, isPtr := n.structOf(typ, tname)
	expanded := len(shapeFields) > 0 || (st != nil && len(words) > 1)
	if expanded {
		if isPtr {
			r.Raw = v.Ptr
			switch {
			case v.Ptr == 0:
				r.Text = "NULL"
				return
			case abi.IsErrPtr(v.Ptr):
				e := -int64(v.Ptr)
				r.Errno = e
				r.Text = "ERR_PTR(" + errnoText(e) + ")"
				return
			}
		}
		r.Raw = n.Word(r.Raw) // the struct's address, or its first word
		var cut bool
		r.Fields, cut = n.fields(st, shapeFields, words)
		r.More = len(words) - len(r.Fields)
		size := 2
		for _, f := range r.Fields {
			size += len(f.Name) + len(f.Text) + 3
		}
		b := make([]byte, 0, size+16)
		b = append(b, '{')
		for i, f := range r.Fields {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, f.Name...)
			b = append(b, '=')
			b = append(b, f.Text...)
		}
		switch {
		case r.More > 0:
			b = append(b, ", ..."...)
			b = strconv.AppendInt(b, int64(r.More), 10)
			b = append(b, " more"...)
		case cut:
			b = append(b, ", ..."...) // fields the build's cap left out
		}
		b = append(b, '}')
		r.Text = string(b)
		return
	}
	w := r.Raw
	if isPtr {
		switch {
		case w == 0:
			r.Text = "NULL"
		case abi.IsErrPtr(w):
			r.Errno = -int64(w)
			r.Text = "ERR_PTR(" + errnoText(r.Errno) + ")"
		case n.redacts(w, 0, false):
			r.Raw, r.Text = n.Redact.Token(w)
		default:
			r.Text = hex(w)
		}
		return
	}
	size := uint64(v.Size)
	if typ == nil {
		typ = guessType(tname, uint32(size))
	}
	if n.redacts(w, size, typ.Kind == debuginfo.KindInt || typ.Kind == debuginfo.KindEnum) {
		r.Raw, r.Text = n.Redact.Token(w)
		return
	}
	r.Text = n.scalar(typ, r.Name, w, size)
	if ret && typ.Kind == debuginfo.KindInt {
		if s := bitwidth.SignExtend(w, uint(size)); s < 0 && s >= -abi.MaxErrno {
			r.Errno = -s
			r.Text = errnoText(-s)
		}
	}
}

func errnoText(e int64) string {
	if name := ErrnoName(e); name != "" {
		return "-" + name
	}
	return strconv.FormatInt(-e, 10)
}

// fields renders field words by the struct's members (when their table
// matches the record) or by the layout's field names. cut: the record
// holds the struct's first members only (a kernel built with a field cap,
// -kcovdf-dataflow-max-fields), as the layout's pairs show.
//
// Only the first MaxFields fields are rendered.
func (n *Namer) fields(st *debuginfo.Type, shape []abi.Field, words []uint64) ([]Field, bool) {
	mems, cut := n.memberFields(st, shape, len(words))
	shown := len(words)
	if n.MaxFields > 0 && n.MaxFields < shown {
		shown = n.MaxFields
	}
	out := make([]Field, shown)
	for i, w := range words[:shown] {
		f := Field{Raw: w}
		switch {
		case mems != nil:
			f.Name = mems[i].Name
		case i < len(shape) && shape[i].Name != "":
			f.Name = shape[i].Name
		default:
			f.Name = "[" + strconv.Itoa(i) + "]"
		}
		if f.Name == "" {
			f.Name = "[" + strconv.Itoa(i) + "]"
		}
		switch {
		case w == abi.BadAddr:
			f.Text = "<fault>"
		case mems == nil && n.redacts(w, 0, false):
			f.Raw, f.Text = n.Redact.Token(w)
		case mems != nil && mems[i].BitSize == 0 && n.redacts(w, mems[i].Size, n.signed(mems[i].Type)):
			f.Raw, f.Text = n.Redact.Token(w)
		case mems != nil:
			m := mems[i]
			v, size := w, m.Size
			if m.BitSize > 0 {
				v = (w >> (m.BitOff - m.Off*8)) & (1<<m.BitSize - 1)
				size = 0
			}
			t := n.Index.Type(m.Type)
			if t == nil {
				f.Text = hex(w)
			} else if m.BitSize > 0 && t.Kind == debuginfo.KindInt {
				f.Text = strconv.FormatInt(bitwidth.SignExtendBits(v, uint(m.BitSize)), 10)
			} else if m.BitSize > 0 {
				f.Text = strconv.FormatUint(v, 10)
			} else {
				f.Text = n.scalar(t, m.Name, v, size)
			}
		default:
			f.Text = hex(w)
		}
		out[i] = f
	}
	return out, cut
}

// sized returns the members of st that take room (the field table's
// members), kept per type.
func (n *Namer) sized(st *debuginfo.Type) []debuginfo.Member {
	if m, ok := n.members[st]; ok {
		return m
	}
	var mems []debuginfo.Member
	for _, m := range st.Members {
		if m.Size > 0 {
			mems = append(mems, m)
		}
	}
	if n.members == nil {
		n.members = map[*debuginfo.Type][]debuginfo.Member{}
	}
	n.members[st] = mems
	return mems
}

// scalar renders a value of a non-struct type.
func (n *Namer) scalar(t *debuginfo.Type, name string, w, size uint64) string {
	if size == 0 || size > 8 {
		size = 8
	}
	if t == nil {
		return hex(w)
	}
	switch t.Kind {
	case debuginfo.KindBool:
		if w == 0 {
			return "false"
		}
		return "true"
	case debuginfo.KindInt:
		v := bitwidth.SignExtend(w, uint(size))
		if v > 0 && flagLike(t.Name, name) {
			return hex(uint64(v))
		}
		return strconv.FormatInt(v, 10)
	case debuginfo.KindUint:
		return unsigned(t.Name, name, w)
	case debuginfo.KindEnum:
		s := bitwidth.SignExtend(w, uint(size))
		for _, e := range t.Enumerators {
			if e.Value == s || uint64(e.Value) == w {
				return e.Name
			}
		}
		return strconv.FormatInt(s, 10)
	case debuginfo.KindFloat:
		if size == 4 {
			return strconv.FormatFloat(float64(math.Float32frombits(uint32(w))), 'g', -1, 32)
		}
		return strconv.FormatFloat(math.Float64frombits(w), 'g', -1, 64)
	case debuginfo.KindPointer:
		if w == 0 {
			return "NULL"
		}
		if abi.IsErrPtr(w) {
			return "ERR_PTR(" + errnoText(-int64(w)) + ")"
		}
	}
	return hex(w)
}

// unsigned shows flags, masks and large values in hex, modes in octal,
// counts and sizes in decimal.
func unsigned(tname, name string, w uint64) string {
	switch {
	case strings.Contains(tname, "umode_t"):
		return fmt.Sprintf("%#o", w)
	case flagLike(tname, name):
		return hex(w)
	case w < 1<<16 || countLike(name):
		return strconv.FormatUint(w, 10)
	}
	return hex(w)
}

func flagLike(tname, name string) bool {
	l := strings.ToLower(name + " " + tname)
	return strings.Contains(l, "flag") || strings.Contains(l, "mask") || strings.Contains(l, "gfp")
}

// countLike names hold counts, sizes and positions, shown in decimal.
func countLike(name string) bool {
	l := strings.ToLower(name)
	for _, s := range []string{"count", "len", "size", "nr", "pos", "num", "bytes", "index", "idx", "off"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// guessType reads a type's C spelling when no debug info is at hand.
func guessType(name string, size uint32) *debuginfo.Type {
	t := &debuginfo.Type{Name: name, Size: size, Elem: debuginfo.NoType, Kind: debuginfo.KindOther}
	n := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(name, "const "), "volatile "))
	switch {
	case n == "":
	case strings.Contains(n, "*"):
		t.Kind = debuginfo.KindPointer
	case n == "bool" || n == "_Bool":
		t.Kind = debuginfo.KindBool
	case signedTypedefs[n] || strings.HasPrefix(n, "int") && strings.HasSuffix(n, "_t"):
		t.Kind = debuginfo.KindInt
	case strings.HasPrefix(n, "unsigned") || strings.HasPrefix(n, "u8") || strings.HasPrefix(n, "u16") ||
		strings.HasPrefix(n, "u32") || strings.HasPrefix(n, "u64") || strings.HasPrefix(n, "__u") ||
		strings.HasSuffix(n, "_t"):
		t.Kind = debuginfo.KindUint
	case strings.HasPrefix(n, "enum "):
		t.Kind = debuginfo.KindInt
	case strings.HasPrefix(n, "struct ") || strings.HasPrefix(n, "union "):
		t.Kind = debuginfo.KindOther
	default:
		t.Kind = debuginfo.KindInt
	}
	return t
}

// signedTypedefs are the kernel's signed typedefs ending in _t; other _t
// names (size_t, sector_t, gfp_t, dev_t, ...) are unsigned.
var signedTypedefs = map[string]bool{
	"ssize_t": true, "loff_t": true, "off_t": true, "pid_t": true, "ktime_t": true,
	"time_t": true, "time64_t": true, "timer_t": true, "clockid_t": true,
	"key_serial_t": true, "ptrdiff_t": true, "s8": true, "s16": true, "s32": true,
	"s64": true, "__s8": true, "__s16": true, "__s32": true, "__s64": true,
}

func hex(w uint64) string {
	if w == 0 {
		return "0x0"
	}
	return "0x" + strconv.FormatUint(w, 16)
}

// comparisonLike names functions whose negative results are orderings.
func comparisonLike(name string) bool {
	return strings.Contains(name, "cmp") || strings.Contains(name, "compare")
}

// memberFields returns the struct's members that count field words
// hold, nil when the record's fields are not its members; cut: the record
// holds its first members only (a kernel built with a field cap), as the
// layout's pairs show.
func (n *Namer) memberFields(st *debuginfo.Type, shape []abi.Field, count int) (mems []debuginfo.Member, cut bool) {
	if st == nil {
		return nil, false
	}
	mems = n.sized(st)
	if len(mems) > count && len(shape) == count && firstMembers(mems, shape) {
		mems, cut = mems[:count], true
	}
	if len(mems) != count {
		return nil, cut
	}
	return mems, cut
}

// firstMembers tells whether a layout's field pairs are the struct's first
// members.
func firstMembers(mems []debuginfo.Member, shape []abi.Field) bool {
	for i, f := range shape {
		if mems[i].Off != f.Off || mems[i].Size != f.Size {
			return false
		}
	}
	return len(shape) > 0
}

// TypeOfSpelling is the type a C spelling stands for when no debug info
// is at hand ("unsigned int", "struct file *", "loff_t"), as values are
// rendered without one; size is the value's size in bytes.
func TypeOfSpelling(name string, size uint32) *debuginfo.Type { return guessType(name, size) }

// signed tells whether a member's type holds signed integers.
func (n *Namer) signed(id debuginfo.TypeID) bool {
	t := n.Index.Type(id)
	return t != nil && (t.Kind == debuginfo.KindInt || t.Kind == debuginfo.KindEnum)
}
