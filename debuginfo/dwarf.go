package debuginfo

import (
	"debug/dwarf"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"strconv"
	"sync"
)

// DWARF base type encodings (DW_ATE_*).
const (
	ateBoolean      = 0x02
	ateFloat        = 0x04
	ateSigned       = 0x05
	ateSignedChar   = 0x06
	ateUnsigned     = 0x07
	ateUnsignedChar = 0x08
	ateUTF          = 0x10
)

// cuFuncs is what one compile unit contributes: its functions, with type
// ids local to types, and the types' content hashes for merging.
type cuFuncs struct {
	funcs  []Func
	types  []Type
	hashes []uint64
	err    error
}

// dieRec is the part of a DIE the reader keeps, by offset, within a unit.
type dieRec struct {
	tag      dwarf.Tag
	name     string
	link     string // linkage name
	typ      dwarf.Offset
	hasTyp   bool
	origin   dwarf.Offset // abstract_origin or specification
	size     int64
	enc      int64
	file     int64
	line     int64
	external bool
	decl     bool
	low      uint64
	high     uint64 // 0 when none
	hasLow   bool
	count    int64 // array element count, -1 unknown
	memOff   int64
	bitOff   int64 // data_bit_offset, -1 when none
	oldBit   int64 // DWARF 2/3 bit_offset, -1 when none
	bitSize  int64
	value    int64
	kids     []dwarf.Offset // members, enumerators, parameters, subranges
}

// readDWARF reads every compile unit of d with workers goroutines and
// returns the functions with their types merged into one table.
// zeroOK keeps functions at address 0, which in a relocatable object
// (a .ko) is a section's first; in a linked kernel it marks discarded code.
func readDWARF(d *dwarf.Data, secs *sections, workers int, zeroOK bool) ([]Func, []Type, int, error) {
	var units []dwarf.Offset
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, nil, 0, fmt.Errorf("DWARF: list compile units: %w", err)
		}
		if e == nil {
			break
		}
		units = append(units, e.Offset)
		r.SkipChildren()
	}
	// The walker lists the unit headers itself (debug/dwarf gives the
	// offsets of unit DIEs); each worker parses its units' abbreviations.
	var headers []dwarf.Offset
	if secs != nil {
		for off := 0; off < len(secs.info); {
			u, err := parseUnitHeader(secs, off)
			if err != nil {
				secs = nil
				break
			}
			headers = append(headers, dwarf.Offset(off))
			off = u.end
		}
		if secs != nil && len(headers) == len(units) {
			units = headers
		} else {
			secs = nil
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]cuFuncs, len(units))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	seed := maphash.MakeSeed()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(units) {
					return
				}
				if secs != nil {
					out[i] = walkUnit(d, secs, units[i], seed, zeroOK)
				} else {
					out[i] = readUnit(d, units[i], seed, zeroOK)
				}
			}
		}()
	}
	wg.Wait()
	// Merge in unit order, so the result does not depend on scheduling.
	var funcs []Func
	var types []Type
	ids := map[uint64]TypeID{}
	var firstErr error
	for i := range out {
		cu := &out[i]
		if cu.err != nil && firstErr == nil {
			firstErr = cu.err
		}
		remap := make([]TypeID, len(cu.types))
		fresh := make([]bool, len(cu.types))
		for j, h := range cu.hashes {
			if id, ok := ids[h]; ok {
				remap[j] = id
				continue
			}
			remap[j] = TypeID(len(types))
			fresh[j] = true
			ids[h] = remap[j]
			types = append(types, cu.types[j])
		}
		fix := func(id TypeID) TypeID {
			if id < 0 {
				return id
			}
			return remap[id]
		}
		for j := range cu.types {
			if !fresh[j] {
				continue
			}
			t := &types[remap[j]]
			t.Elem = fix(t.Elem)
			for k := range t.Members {
				t.Members[k].Type = fix(t.Members[k].Type)
			}
		}
		for _, f := range cu.funcs {
			f.Ret = fix(f.Ret)
			for k := range f.Params {
				f.Params[k].Type = fix(f.Params[k].Type)
			}
			funcs = append(funcs, f)
		}
	}
	return funcs, types, len(units), firstErr
}

func attrInt(e *dwarf.Entry, a dwarf.Attr, def int64) int64 {
	switch v := e.Val(a).(type) {
	case int64:
		return v
	case uint64:
		return int64(v)
	}
	return def
}

func attrOff(e *dwarf.Entry, a dwarf.Attr) (dwarf.Offset, bool) {
	v, ok := e.Val(a).(dwarf.Offset)
	return v, ok
}

// wanted tells which DIEs a unit's walk keeps; the children of all others
// (lexical blocks, inlined calls, variables) are skipped undecoded where
// the DWARF allows it.
func wanted(t dwarf.Tag) bool {
	switch t {
	case dwarf.TagSubprogram, dwarf.TagFormalParameter, dwarf.TagBaseType, dwarf.TagPointerType,
		dwarf.TagReferenceType, dwarf.TagRvalueReferenceType, dwarf.TagTypedef, dwarf.TagConstType,
		dwarf.TagVolatileType, dwarf.TagRestrictType, dwarf.TagAtomicType, dwarf.TagStructType,
		dwarf.TagClassType, dwarf.TagUnionType, dwarf.TagEnumerationType, dwarf.TagEnumerator,
		dwarf.TagMember, dwarf.TagArrayType, dwarf.TagSubrangeType, dwarf.TagSubroutineType,
		dwarf.TagUnspecifiedType:
		return true
	}
	return false
}

// keepsChildren tells whose children the walk descends into.
func keepsChildren(t dwarf.Tag) bool {
	switch t {
	case dwarf.TagSubprogram, dwarf.TagStructType, dwarf.TagClassType, dwarf.TagUnionType,
		dwarf.TagEnumerationType, dwarf.TagArrayType, dwarf.TagCompileUnit, dwarf.TagPartialUnit:
		return true
	}
	return false
}

// readUnit reads one compile unit with its own Reader (a dwarf.Data may
// be read by many Readers at once; only Data.Type is not safe for that).
func readUnit(d *dwarf.Data, off dwarf.Offset, seed maphash.Seed, zeroOK bool) (cu cuFuncs) {
	defer func() {
		// debug/dwarf has panicked on crafted input before; one bad unit
		// must not take the others with it.
		if p := recover(); p != nil {
			cu = cuFuncs{err: fmt.Errorf("DWARF unit at %#x: %v", off, p)}
		}
	}()
	r := d.Reader()
	r.Seek(off)
	top, err := r.Next()
	if err != nil || top == nil {
		return cuFuncs{err: fmt.Errorf("DWARF unit at %#x: %v", off, err)}
	}
	recs := map[dwarf.Offset]*dieRec{}
	var subs []dwarf.Offset
	type frame struct {
		off  dwarf.Offset
		keep bool
	}
	stack := []frame{{top.Offset, true}}
	for top.Children && len(stack) > 0 {
		e, err := r.Next()
		if err != nil {
			cu.err = fmt.Errorf("DWARF unit at %#x: %w", off, err)
			break
		}
		if e == nil {
			break
		}
		if e.Tag == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		parent := stack[len(stack)-1]
		if !wanted(e.Tag) || !parent.keep {
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		// Parameters count only as direct children of a subprogram.
		if e.Tag == dwarf.TagFormalParameter && (recs[parent.off] == nil || recs[parent.off].tag != dwarf.TagSubprogram) {
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		rec := &dieRec{tag: e.Tag, count: -1, bitOff: -1, oldBit: -1, memOff: -1}
		rec.name, _ = e.Val(dwarf.AttrName).(string)
		if rec.tag == dwarf.TagSubprogram {
			rec.link, _ = e.Val(dwarf.AttrLinkageName).(string)
			rec.external, _ = e.Val(dwarf.AttrExternal).(bool)
			rec.decl, _ = e.Val(dwarf.AttrDeclaration).(bool)
			rec.file = attrInt(e, dwarf.AttrDeclFile, -1)
			rec.line = attrInt(e, dwarf.AttrDeclLine, 0)
			if lo, ok := e.Val(dwarf.AttrLowpc).(uint64); ok {
				rec.low, rec.hasLow = lo, true
				switch hv := e.Val(dwarf.AttrHighpc).(type) {
				case uint64:
					rec.high = hv
				case int64:
					rec.high = lo + uint64(hv)
				}
			} else if rs, err := d.Ranges(e); err == nil && len(rs) > 0 {
				rec.low, rec.high, rec.hasLow = rs[0][0], rs[0][1], true
			}
			subs = append(subs, e.Offset)
		}
		if o, ok := attrOff(e, dwarf.AttrAbstractOrigin); ok {
			rec.origin = o
		} else if o, ok := attrOff(e, dwarf.AttrSpecification); ok {
			rec.origin = o
		}
		rec.typ, rec.hasTyp = attrOff(e, dwarf.AttrType)
		rec.size = attrInt(e, dwarf.AttrByteSize, -1)
		switch rec.tag {
		case dwarf.TagBaseType:
			rec.enc = attrInt(e, dwarf.AttrEncoding, 0)
		case dwarf.TagMember:
			rec.memOff = attrInt(e, dwarf.AttrDataMemberLoc, 0)
			rec.bitOff = attrInt(e, dwarf.AttrDataBitOffset, -1)
			rec.oldBit = attrInt(e, dwarf.AttrBitOffset, -1)
			rec.bitSize = attrInt(e, dwarf.AttrBitSize, 0)
		case dwarf.TagEnumerator:
			rec.value = attrInt(e, dwarf.AttrConstValue, 0)
		case dwarf.TagSubrangeType:
			rec.count = attrInt(e, dwarf.AttrCount, -1)
			if rec.count < 0 {
				if ub := attrInt(e, dwarf.AttrUpperBound, -1); ub >= 0 {
					rec.count = ub + 1
				}
			}
		}
		recs[e.Offset] = rec
		if p := recs[parent.off]; p != nil {
			p.kids = append(p.kids, e.Offset)
		}
		if e.Children {
			if keepsChildren(e.Tag) {
				stack = append(stack, frame{e.Offset, true})
			} else {
				r.SkipChildren()
			}
		}
	}
	unit, _ := top.Val(dwarf.AttrName).(string)
	get := func(o dwarf.Offset) *dieRec { return recs[o] }
	cu.funcs, cu.types, cu.hashes = buildFuncs(d, top, get, subs, unit, seed, zeroOK)
	return cu
}

// dieGetter returns the kept DIE at an offset, or nil.
type dieGetter func(dwarf.Offset) *dieRec

// buildFuncs makes a unit's functions, with their types, from its DIEs.
func buildFuncs(d *dwarf.Data, top *dwarf.Entry, get dieGetter, subs []dwarf.Offset, unit string, seed maphash.Seed, zeroOK bool) ([]Func, []Type, []uint64) {
	var funcs []Func
	var files []*dwarf.LineFile
	if lr, err := d.LineReader(top); err == nil && lr != nil {
		files = lr.Files()
	}
	cv := &converter{get: get, seed: seed, memo: make(map[convKey]TypeID, 4*len(subs))}
	for _, o := range subs {
		s := get(o)
		if s == nil || !s.hasLow || (s.low == 0 && !zeroOK) || s.decl {
			continue
		}
		// The abstract instance (origin) has the name, file, line and the
		// complete parameter list of an out-of-line copy.
		decl := s
		for hops := 0; decl.origin != 0 && hops < 4; hops++ {
			o := get(decl.origin)
			if o == nil {
				break
			}
			decl = o
		}
		f := Func{Low: s.low, High: s.high, HasSig: true, Ret: NoType, Unit: unit}
		f.Name = firstNonEmpty(s.link, s.name, decl.link, decl.name)
		f.Static = !(s.external || decl.external)
		f.Line = int(firstPos(s.line, decl.line))
		fi := s.file
		if fi < 0 {
			fi = decl.file
		}
		if fi >= 0 && int(fi) < len(files) && files[fi] != nil {
			f.File = files[fi].Name
		}
		if f.Name == "" {
			continue
		}
		if decl.hasTyp {
			f.Ret = cv.convert(decl.typ, true, 0)
		} else if s.hasTyp {
			f.Ret = cv.convert(s.typ, true, 0)
		}
		params := decl.kids
		if decl == s || len(paramsOf(get, decl.kids)) == 0 {
			params = s.kids
		}
		for _, po := range paramsOf(get, params) {
			p := get(po)
			name, typ, has := p.name, p.typ, p.hasTyp
			if o := get(p.origin); p.origin != 0 && o != nil {
				name = firstNonEmpty(name, o.name)
				if !has {
					typ, has = o.typ, o.hasTyp
				}
			}
			id := NoType
			if has {
				id = cv.convert(typ, true, 0)
			}
			f.Params = append(f.Params, Param{Name: name, Type: id})
		}
		funcs = append(funcs, f)
	}
	return funcs, cv.types, cv.hashes
}

func paramsOf(get dieGetter, kids []dwarf.Offset) []dwarf.Offset {
	var out []dwarf.Offset
	for _, k := range kids {
		if r := get(k); r != nil && r.tag == dwarf.TagFormalParameter {
			out = append(out, k)
		}
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func firstPos(v ...int64) int64 {
	for _, x := range v {
		if x > 0 {
			return x
		}
	}
	return 0
}

type convKey struct {
	off     dwarf.Offset
	members bool
}

// converter turns a unit's type DIEs into Types with unit-local ids.
// Members are kept only for structs a parameter is, or points to
// (members == true); a member's own type is converted without members,
// which also bounds the recursion.
type converter struct {
	get    dieGetter
	seed   maphash.Seed
	memo   map[convKey]TypeID
	types  []Type
	hashes []uint64
}

const maxTypeDepth = 24

func (c *converter) add(t Type, h uint64) TypeID {
	c.types = append(c.types, t)
	c.hashes = append(c.hashes, h)
	return TypeID(len(c.types) - 1)
}

func (c *converter) hashOf(id TypeID) uint64 {
	if id < 0 {
		return 0
	}
	return c.hashes[id]
}

func (c *converter) convert(off dwarf.Offset, members bool, depth int) TypeID {
	key := convKey{off, members}
	if id, ok := c.memo[key]; ok {
		return id
	}
	rec := c.get(off)
	if rec == nil || depth > maxTypeDepth {
		return NoType
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	t := Type{Elem: NoType, Size: uint32(max(rec.size, 0))}
	inner := func(members bool) TypeID {
		if !rec.hasTyp {
			return NoType
		}
		return c.convert(rec.typ, members, depth+1)
	}
	switch rec.tag {
	case dwarf.TagBaseType:
		t.Name = rec.name
		switch rec.enc {
		case ateBoolean:
			t.Kind = KindBool
		case ateFloat:
			t.Kind = KindFloat
		case ateSigned, ateSignedChar:
			t.Kind = KindInt
		case ateUnsigned, ateUnsignedChar, ateUTF:
			t.Kind = KindUint
		}
	case dwarf.TagUnspecifiedType:
		t.Kind, t.Name = KindVoid, rec.name
	case dwarf.TagTypedef, dwarf.TagConstType, dwarf.TagVolatileType, dwarf.TagRestrictType, dwarf.TagAtomicType:
		u := inner(members)
		if ut := c.typeAt(u); ut != nil {
			t = *ut
			// Member type ids are remapped per type when units merge.
			t.Members = slices.Clone(t.Members)
		} else {
			t = Type{Kind: KindVoid, Name: "void", Elem: NoType}
		}
		switch rec.tag {
		case dwarf.TagTypedef:
			t.Name = rec.name
		case dwarf.TagConstType:
			t.Name = qualify("const", t)
		case dwarf.TagVolatileType:
			t.Name = qualify("volatile", t)
		case dwarf.TagAtomicType:
			t.Name = qualify("_Atomic", t)
		}
		h.WriteString("q")
		writeU64(&h, c.hashOf(u))
	case dwarf.TagPointerType, dwarf.TagReferenceType, dwarf.TagRvalueReferenceType:
		t.Kind = KindPointer
		if t.Size == 0 {
			t.Size = 8
		}
		// Members of the pointee only when it is a struct: a parameter
		// that points to a pointer to a struct is not expanded.
		t.Elem = inner(members && c.isStruct(rec.typ, 0))
		if et := c.typeAt(t.Elem); et != nil {
			if et.Kind == KindFunc {
				t.Name = et.Name + " (*)()"
			} else if et.Name != "" && et.Name[len(et.Name)-1] == '*' {
				t.Name = et.Name + "*"
			} else {
				t.Name = et.Name + " *"
			}
		} else {
			t.Name = "void *"
		}
		writeU64(&h, c.hashOf(t.Elem))
	case dwarf.TagStructType, dwarf.TagClassType, dwarf.TagUnionType:
		t.Kind = KindStruct
		kw := "struct"
		if rec.tag == dwarf.TagUnionType {
			t.Kind, kw = KindUnion, "union"
		}
		t.Tag = rec.name
		t.Name = kw + " " + firstNonEmpty(rec.name, "{...}")
		if members {
			for _, k := range rec.kids {
				m := c.get(k)
				if m == nil || m.tag != dwarf.TagMember {
					continue
				}
				mt := NoType
				if m.hasTyp {
					mt = c.convert(m.typ, false, depth+1)
				}
				mem := Member{Name: m.name, Type: mt, Off: uint64(max(m.memOff, 0))}
				switch {
				case m.bitSize > 0 && m.bitOff >= 0:
					mem.BitOff, mem.BitSize = uint64(m.bitOff), uint64(m.bitSize)
				case m.bitSize > 0 && m.oldBit >= 0 && m.size > 0:
					// DWARF 2/3: bit_offset counts from the storage unit's
					// most significant bit (little-endian targets).
					mem.BitOff = uint64(m.memOff)*8 + uint64(m.size*8-m.oldBit-m.bitSize)
					mem.BitSize = uint64(m.bitSize)
				}
				if mem.BitSize > 0 {
					mem.Off = mem.BitOff / 8
					mem.Size = (mem.BitOff+mem.BitSize+7)/8 - mem.Off
				} else if m.size > 0 {
					mem.Size = uint64(m.size)
				} else if mtt := c.typeAt(mt); mtt != nil {
					mem.Size = uint64(mtt.Size)
				}
				t.Members = append(t.Members, mem)
				h.WriteString(mem.Name)
				writeU64(&h, mem.Off, mem.Size, mem.BitOff, mem.BitSize, c.hashOf(mt))
			}
		}
		writeU64(&h, boolU64(members))
	case dwarf.TagEnumerationType:
		t.Kind = KindEnum
		t.Tag = rec.name
		t.Name = "enum " + firstNonEmpty(rec.name, "{...}")
		for _, k := range rec.kids {
			if m := c.get(k); m != nil && m.tag == dwarf.TagEnumerator {
				t.Enumerators = append(t.Enumerators, Enumerator{Name: m.name, Value: m.value})
				h.WriteString(m.name)
				writeU64(&h, uint64(m.value))
			}
		}
	case dwarf.TagArrayType:
		t.Kind = KindArray
		t.Elem = inner(false)
		n := int64(-1)
		for _, k := range rec.kids {
			if m := c.get(k); m != nil && m.tag == dwarf.TagSubrangeType {
				if n < 0 {
					n = m.count
				} else if m.count >= 0 {
					n *= m.count
				}
			}
		}
		en := "void"
		if et := c.typeAt(t.Elem); et != nil {
			en = et.Name
			if t.Size == 0 && n > 0 {
				t.Size = uint32(n) * et.Size
			}
		}
		if n >= 0 {
			t.Name = en + "[" + strconv.FormatInt(n, 10) + "]"
		} else {
			t.Name = en + "[]"
		}
		writeU64(&h, c.hashOf(t.Elem))
	case dwarf.TagSubroutineType:
		t.Kind = KindFunc
		t.Name = "void"
		if rt := c.typeAt(inner(false)); rt != nil {
			t.Name = rt.Name
		}
	default:
		return NoType
	}
	if t.Kind == KindEnum && t.Size == 0 {
		t.Size = 4
	}
	h.WriteString(t.Name)
	writeU64(&h, uint64(t.Kind), uint64(t.Size))
	id := c.add(t, h.Sum64())
	c.memo[key] = id
	return id
}

func (c *converter) typeAt(id TypeID) *Type {
	if id < 0 || int(id) >= len(c.types) {
		return nil
	}
	return &c.types[id]
}

// isStruct tells whether off is a struct or class, through typedefs and
// qualifiers.
func (c *converter) isStruct(off dwarf.Offset, depth int) bool {
	rec := c.get(off)
	if rec == nil || depth > maxTypeDepth {
		return false
	}
	switch rec.tag {
	case dwarf.TagStructType, dwarf.TagClassType, dwarf.TagUnionType:
		return true
	case dwarf.TagTypedef, dwarf.TagConstType, dwarf.TagVolatileType, dwarf.TagRestrictType, dwarf.TagAtomicType:
		return rec.hasTyp && c.isStruct(rec.typ, depth+1)
	}
	return false
}

func qualify(q string, t Type) string {
	if t.Kind == KindPointer {
		return t.Name + " " + q
	}
	return q + " " + t.Name
}

func writeU64(h *maphash.Hash, vs ...uint64) {
	var b [8]byte
	for _, v := range vs {
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		h.Write(b[:])
	}
}

func boolU64(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
