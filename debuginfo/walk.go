package debuginfo

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
)

// A DWARF walker that decodes only the attributes of the DIEs it keeps
// and skips the others by form, without allocating: debug/dwarf's Reader
// builds every entry's field list, which is most of the time spent on a
// kernel, since clang emits no DW_AT_sibling to skip subtrees with.

// DWARF forms (DW_FORM_*).
const (
	formAddr          = 0x01
	formBlock2        = 0x03
	formBlock4        = 0x04
	formData2         = 0x05
	formData4         = 0x06
	formData8         = 0x07
	formString        = 0x08
	formBlock         = 0x09
	formBlock1        = 0x0a
	formData1         = 0x0b
	formFlag          = 0x0c
	formSdata         = 0x0d
	formStrp          = 0x0e
	formUdata         = 0x0f
	formRefAddr       = 0x10
	formRef1          = 0x11
	formRef2          = 0x12
	formRef4          = 0x13
	formRef8          = 0x14
	formRefUdata      = 0x15
	formIndirect      = 0x16
	formSecOffset     = 0x17
	formExprloc       = 0x18
	formFlagPresent   = 0x19
	formStrx          = 0x1a
	formAddrx         = 0x1b
	formRefSup4       = 0x1c
	formStrpSup       = 0x1d
	formData16        = 0x1e
	formLineStrp      = 0x1f
	formRefSig8       = 0x20
	formImplicitConst = 0x21
	formLoclistx      = 0x22
	formRnglistx      = 0x23
	formRefSup8       = 0x24
	formStrx1         = 0x25
	formStrx2         = 0x26
	formStrx3         = 0x27
	formStrx4         = 0x28
	formAddrx1        = 0x29
	formAddrx2        = 0x2a
	formAddrx3        = 0x2b
	formAddrx4        = 0x2c
	formGNUAddrIndex  = 0x1f01
	formGNUStrIndex   = 0x1f02
	formGNURefAlt     = 0x1f20
	formGNUStrpAlt    = 0x1f21
)

var errShort = errors.New("data cut short")

type abbrevAttr struct {
	attr     dwarf.Attr
	form     uint16
	implicit int64
}

type abbrev struct {
	tag      dwarf.Tag
	children bool
	attrs    []abbrevAttr
}

// sections are the DWARF sections the walker reads.
type sections struct {
	info, abbrev, str, strOffsets, lineStr, addr []byte
	order                                        binary.ByteOrder
}

// cursor reads little- or big-endian DWARF data.
type cursor struct {
	b   []byte
	off int
	bo  binary.ByteOrder
	err error
}

func (c *cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || c.off+n > len(c.b) || c.off+n < c.off {
		c.err = errShort
		return false
	}
	return true
}

func (c *cursor) u8() uint64 {
	if !c.need(1) {
		return 0
	}
	c.off++
	return uint64(c.b[c.off-1])
}

func (c *cursor) u16() uint64 {
	if !c.need(2) {
		return 0
	}
	c.off += 2
	return uint64(c.bo.Uint16(c.b[c.off-2:]))
}

func (c *cursor) u24() uint64 {
	if !c.need(3) {
		return 0
	}
	c.off += 3
	b := c.b[c.off-3:]
	if c.bo == binary.BigEndian {
		return uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
	}
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16
}

func (c *cursor) u32() uint64 {
	if !c.need(4) {
		return 0
	}
	c.off += 4
	return uint64(c.bo.Uint32(c.b[c.off-4:]))
}

func (c *cursor) u64() uint64 {
	if !c.need(8) {
		return 0
	}
	c.off += 8
	return c.bo.Uint64(c.b[c.off-8:])
}

func (c *cursor) uleb() uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if !c.need(1) {
			return 0
		}
		b := c.b[c.off]
		c.off++
		if shift < 64 {
			v |= uint64(b&0x7f) << shift
		}
		if b&0x80 == 0 {
			return v
		}
	}
}

func (c *cursor) sleb() int64 {
	var v int64
	var shift uint
	for {
		if !c.need(1) {
			return 0
		}
		b := c.b[c.off]
		c.off++
		if shift < 64 {
			v |= int64(b&0x7f) << shift
		}
		shift += 7
		if b&0x80 == 0 {
			if shift < 64 && b&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}

func (c *cursor) skip(n uint64) {
	if n > uint64(len(c.b)) || !c.need(int(n)) {
		c.err = errShort
		return
	}
	c.off += int(n)
}

func (c *cursor) cstr() string {
	if c.err != nil {
		return ""
	}
	for i := c.off; i < len(c.b); i++ {
		if c.b[i] == 0 {
			s := string(c.b[c.off:i])
			c.off = i + 1
			return s
		}
	}
	c.err = errShort
	return ""
}

// parseAbbrevs reads the abbreviation table at off.
func parseAbbrevs(s *sections, off uint64) (map[uint64]*abbrev, error) {
	if off >= uint64(len(s.abbrev)) {
		return nil, fmt.Errorf("abbreviation table offset %#x out of range", off)
	}
	c := cursor{b: s.abbrev, off: int(off), bo: s.order}
	m := map[uint64]*abbrev{}
	for {
		code := c.uleb()
		if code == 0 || c.err != nil {
			break
		}
		a := &abbrev{tag: dwarf.Tag(c.uleb()), children: c.u8() != 0}
		for c.err == nil {
			attr, form := c.uleb(), c.uleb()
			if attr == 0 && form == 0 {
				break
			}
			aa := abbrevAttr{attr: dwarf.Attr(attr), form: uint16(form)}
			if form == formImplicitConst {
				aa.implicit = c.sleb()
			}
			a.attrs = append(a.attrs, aa)
		}
		m[code] = a
	}
	if c.err != nil {
		return m, fmt.Errorf("abbreviation table at %#x: %w", off, c.err)
	}
	return m, nil
}

// unitHeader is one compile unit's header.
type unitHeader struct {
	off, end   int // the unit's first byte and one past its last
	die        int // its first DIE
	version    int
	addrSize   int
	offSize    int
	abbrevOff  uint64
	strOffBase uint64
	addrBase   uint64
}

func parseUnitHeader(s *sections, off int) (unitHeader, error) {
	c := cursor{b: s.info, off: off, bo: s.order}
	u := unitHeader{off: off, offSize: 4}
	n := c.u32()
	if n == 0xffffffff {
		n = c.u64()
		u.offSize = 8
	}
	if c.err != nil || n > uint64(len(s.info)-c.off) {
		return u, fmt.Errorf("unit at %#x: length %d past the section", off, n)
	}
	u.end = c.off + int(n)
	u.version = int(c.u16())
	switch {
	case u.version >= 5:
		ut := c.u8()
		u.addrSize = int(c.u8())
		u.abbrevOff = c.offset(u.offSize)
		switch ut {
		case 2, 6: // type and split type units: signature, type offset
			c.skip(8 + uint64(u.offSize))
		case 4, 5: // skeleton and split compile units: DWO id
			c.skip(8)
		}
	case u.version >= 2:
		u.abbrevOff = c.offset(u.offSize)
		u.addrSize = int(c.u8())
	default:
		return u, fmt.Errorf("unit at %#x: DWARF version %d", off, u.version)
	}
	if c.err != nil || (u.addrSize != 4 && u.addrSize != 8) {
		return u, fmt.Errorf("unit at %#x: bad header (address size %d)", off, u.addrSize)
	}
	u.die = c.off
	return u, nil
}

func (c *cursor) offset(size int) uint64 {
	if size == 8 {
		return c.u64()
	}
	return c.u32()
}

// attrVal is one decoded attribute: a number, a string or a reference.
type attrVal struct {
	u     uint64
	s     string
	isStr bool
	isRef bool
	isOff bool // DW_FORM_data* / sec_offset: a plain constant of unknown sign
}

// skipForm moves c past one attribute value.
func skipForm(c *cursor, u *unitHeader, form uint16) {
	switch form {
	case formAddr:
		c.skip(uint64(u.addrSize))
	case formData1, formRef1, formFlag, formStrx1, formAddrx1:
		c.skip(1)
	case formData2, formRef2, formStrx2, formAddrx2:
		c.skip(2)
	case formStrx3, formAddrx3:
		c.skip(3)
	case formData4, formRef4, formRefSup4, formStrx4, formAddrx4:
		c.skip(4)
	case formData8, formRef8, formRefSig8, formRefSup8:
		c.skip(8)
	case formData16:
		c.skip(16)
	case formSdata, formUdata, formRefUdata, formStrx, formAddrx, formLoclistx, formRnglistx, formGNUAddrIndex, formGNUStrIndex:
		c.uleb()
	case formString:
		for c.err == nil {
			if c.u8() == 0 {
				break
			}
		}
	case formStrp, formLineStrp, formSecOffset, formStrpSup, formGNURefAlt, formGNUStrpAlt:
		c.skip(uint64(u.offSize))
	case formRefAddr:
		if u.version <= 2 {
			c.skip(uint64(u.addrSize))
		} else {
			c.skip(uint64(u.offSize))
		}
	case formBlock1:
		c.skip(c.u8())
	case formBlock2:
		c.skip(c.u16())
	case formBlock4:
		c.skip(c.u32())
	case formBlock, formExprloc:
		c.skip(c.uleb())
	case formFlagPresent, formImplicitConst:
	case formIndirect:
		skipForm(c, u, uint16(c.uleb()))
	default:
		c.err = fmt.Errorf("unknown form %#x", form)
	}
}

// readForm decodes one attribute value.
func readForm(s *sections, c *cursor, u *unitHeader, a *abbrevAttr) attrVal {
	switch a.form {
	case formAddr:
		if u.addrSize == 8 {
			return attrVal{u: c.u64()}
		}
		return attrVal{u: c.u32()}
	case formAddrx, formGNUAddrIndex:
		return attrVal{u: s.addrx(u, c.uleb())}
	case formAddrx1:
		return attrVal{u: s.addrx(u, c.u8())}
	case formAddrx2:
		return attrVal{u: s.addrx(u, c.u16())}
	case formAddrx3:
		return attrVal{u: s.addrx(u, c.u24())}
	case formAddrx4:
		return attrVal{u: s.addrx(u, c.u32())}
	case formData1, formFlag:
		return attrVal{u: c.u8(), isOff: true}
	case formData2:
		return attrVal{u: c.u16(), isOff: true}
	case formData4:
		return attrVal{u: c.u32(), isOff: true}
	case formData8:
		return attrVal{u: c.u64(), isOff: true}
	case formSdata:
		return attrVal{u: uint64(c.sleb())}
	case formUdata:
		return attrVal{u: c.uleb()}
	case formImplicitConst:
		return attrVal{u: uint64(a.implicit)}
	case formFlagPresent:
		return attrVal{u: 1}
	case formRef1:
		return attrVal{u: uint64(u.off) + c.u8(), isRef: true}
	case formRef2:
		return attrVal{u: uint64(u.off) + c.u16(), isRef: true}
	case formRef4:
		return attrVal{u: uint64(u.off) + c.u32(), isRef: true}
	case formRef8:
		return attrVal{u: uint64(u.off) + c.u64(), isRef: true}
	case formRefUdata:
		return attrVal{u: uint64(u.off) + c.uleb(), isRef: true}
	case formRefAddr:
		if u.version <= 2 {
			return attrVal{u: c.offset(u.addrSize), isRef: true}
		}
		return attrVal{u: c.offset(u.offSize), isRef: true}
	case formSecOffset:
		return attrVal{u: c.offset(u.offSize), isOff: true}
	case formString:
		return attrVal{s: c.cstr(), isStr: true}
	case formStrp:
		return attrVal{s: cstrAt(s.str, c.offset(u.offSize)), isStr: true}
	case formLineStrp:
		return attrVal{s: cstrAt(s.lineStr, c.offset(u.offSize)), isStr: true}
	case formStrx, formGNUStrIndex:
		return attrVal{s: s.strx(u, c.uleb()), isStr: true}
	case formStrx1:
		return attrVal{s: s.strx(u, c.u8()), isStr: true}
	case formStrx2:
		return attrVal{s: s.strx(u, c.u16()), isStr: true}
	case formStrx3:
		return attrVal{s: s.strx(u, c.u24()), isStr: true}
	case formStrx4:
		return attrVal{s: s.strx(u, c.u32()), isStr: true}
	}
	skipForm(c, u, a.form)
	return attrVal{}
}

func cstrAt(b []byte, off uint64) string {
	if off >= uint64(len(b)) {
		return ""
	}
	for i := int(off); i < len(b); i++ {
		if b[i] == 0 {
			return string(b[off:i])
		}
	}
	return ""
}

func (s *sections) strx(u *unitHeader, i uint64) string {
	p := u.strOffBase + i*uint64(u.offSize)
	if p+uint64(u.offSize) > uint64(len(s.strOffsets)) || p < u.strOffBase {
		return ""
	}
	var off uint64
	if u.offSize == 8 {
		off = s.order.Uint64(s.strOffsets[p:])
	} else {
		off = uint64(s.order.Uint32(s.strOffsets[p:]))
	}
	return cstrAt(s.str, off)
}

func (s *sections) addrx(u *unitHeader, i uint64) uint64 {
	p := u.addrBase + i*uint64(u.addrSize)
	if p+uint64(u.addrSize) > uint64(len(s.addr)) || p < u.addrBase {
		return 0
	}
	if u.addrSize == 8 {
		return s.order.Uint64(s.addr[p:])
	}
	return uint64(s.order.Uint32(s.addr[p:]))
}

// walkUnit reads one compile unit with the walker.
func walkUnit(d *dwarf.Data, s *sections, uoff dwarf.Offset, seed maphash.Seed, zeroOK bool) (cu cuFuncs) {
	defer func() {
		if p := recover(); p != nil {
			cu = cuFuncs{err: fmt.Errorf("DWARF unit at %#x: %v", uoff, p)}
		}
	}()
	u, err := parseUnitHeader(s, int(uoff))
	if err != nil {
		return cuFuncs{err: err}
	}
	tab, err := parseAbbrevs(s, u.abbrevOff)
	if err != nil {
		return cuFuncs{err: fmt.Errorf("DWARF unit at %#x: %w", uoff, err)}
	}
	c := cursor{b: s.info[:u.end], off: u.die, bo: s.order}
	// The unit DIE: its string and address bases first, as its own name
	// may be an index into them.
	cuAb := tab[c.uleb()]
	if cuAb == nil || c.err != nil {
		return cuFuncs{err: fmt.Errorf("DWARF unit at %#x: bad unit DIE", uoff)}
	}
	start := c.off
	for i := range cuAb.attrs {
		a := &cuAb.attrs[i]
		switch a.attr {
		case dwarf.AttrStrOffsetsBase:
			u.strOffBase = readForm(s, &c, &u, a).u
		case dwarf.AttrAddrBase:
			u.addrBase = readForm(s, &c, &u, a).u
		default:
			skipForm(&c, &u, a.form)
		}
	}
	c.off = start
	for i := range cuAb.attrs {
		skipForm(&c, &u, cuAb.attrs[i].form)
	}
	// About one kept DIE per 100 bytes of a kernel unit.
	lu := &lazyUnit{s: s, u: &u, tab: tab, memo: make(map[dwarf.Offset]*dieRec, (u.end-u.die)/100)}
	var subs, ranged []dwarf.Offset
	// One pass finds the functions and their parameters; everything else
	// is skipped, and types are parsed later, only those used.
	type frame struct {
		off   dwarf.Offset
		isSub bool
	}
	var stack []frame
	cuDIE := dwarf.Offset(u.die)
	if cuAb.children {
		stack = append(stack, frame{cuDIE, false})
	}
	for len(stack) > 0 && c.err == nil && c.off < u.end {
		off := dwarf.Offset(c.off)
		code := c.uleb()
		if code == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		ab := tab[code]
		if ab == nil {
			return cuFuncs{err: fmt.Errorf("DWARF unit at %#x: DIE at %#x has unknown abbreviation %d", uoff, off, code)}
		}
		parent := stack[len(stack)-1]
		if ab.tag != dwarf.TagSubprogram && !(ab.tag == dwarf.TagFormalParameter && parent.isSub) {
			for i := range ab.attrs {
				skipForm(&c, &u, ab.attrs[i].form)
			}
			if ab.children {
				stack = append(stack, frame{off, false})
			}
			continue
		}
		rec, hasRanges := lu.parse(&c, ab)
		if rec.tag == dwarf.TagSubprogram {
			if !rec.hasLow && hasRanges {
				ranged = append(ranged, off)
			}
			subs = append(subs, off)
		} else if p := lu.memo[parent.off]; p != nil {
			p.kids = append(p.kids, off)
		}
		lu.memo[off] = rec
		if ab.children {
			stack = append(stack, frame{off, ab.tag == dwarf.TagSubprogram})
		}
	}
	if c.err != nil {
		cu.err = fmt.Errorf("DWARF unit at %#x: %w", uoff, c.err)
	}
	// The unit entry for its line table, and the rare functions whose
	// code is in several ranges, through debug/dwarf.
	r := d.Reader()
	r.Seek(cuDIE)
	top, err := r.Next()
	if err != nil || top == nil {
		return cuFuncs{err: fmt.Errorf("DWARF unit at %#x: %v", uoff, err)}
	}
	for _, o := range ranged {
		r.Seek(o)
		if e, err := r.Next(); err == nil && e != nil {
			if rs, err := d.Ranges(e); err == nil && len(rs) > 0 {
				rec := lu.memo[o]
				rec.low, rec.high, rec.hasLow = rs[0][0], rs[0][1], true
			}
		}
	}
	unit, _ := top.Val(dwarf.AttrName).(string)
	cu.funcs, cu.types, cu.hashes = buildFuncs(d, top, lu.get, subs, unit, seed, zeroOK)
	if lu.err != nil && cu.err == nil {
		cu.err = fmt.Errorf("DWARF unit at %#x: %w", uoff, lu.err)
	}
	return cu
}

// lazyUnit parses a unit's DIEs on demand, by offset.
type lazyUnit struct {
	s    *sections
	u    *unitHeader
	tab  map[uint64]*abbrev
	memo map[dwarf.Offset]*dieRec
	err  error
}

// get returns the DIE at off with its wanted children, or nil.
func (l *lazyUnit) get(off dwarf.Offset) *dieRec {
	if r, ok := l.memo[off]; ok {
		return r
	}
	l.memo[off] = nil // a reference cycle in damaged DWARF ends here
	if int(off) < l.u.die || int(off) >= l.u.end {
		return nil // another unit's DIE: C compilers do not refer to them
	}
	c := cursor{b: l.s.info[:l.u.end], off: int(off), bo: l.s.order}
	ab := l.tab[c.uleb()]
	if ab == nil || c.err != nil {
		return nil
	}
	rec, _ := l.parse(&c, ab)
	if ab.children && keepsChildren(ab.tag) {
		for depth := 1; depth > 0 && c.err == nil && c.off < l.u.end; {
			coff := dwarf.Offset(c.off)
			code := c.uleb()
			if code == 0 {
				depth--
				continue
			}
			cab := l.tab[code]
			if cab == nil {
				l.err = fmt.Errorf("DIE at %#x has unknown abbreviation %d", coff, code)
				break
			}
			if depth == 1 && wanted(cab.tag) {
				kid, _ := l.parse(&c, cab)
				// A nested type keeps its own children: get parses it
				// whole when it is used.
				if _, seen := l.memo[coff]; !seen && !(cab.children && keepsChildren(cab.tag)) {
					l.memo[coff] = kid
				}
				rec.kids = append(rec.kids, coff)
			} else {
				for i := range cab.attrs {
					skipForm(&c, l.u, cab.attrs[i].form)
				}
			}
			if cab.children {
				depth++
			}
		}
	}
	if c.err != nil && l.err == nil {
		l.err = c.err
	}
	l.memo[off] = rec
	return rec
}

// parse decodes the attributes of the DIE whose abbreviation was just read.
func (l *lazyUnit) parse(c *cursor, ab *abbrev) (rec *dieRec, hasRanges bool) {
	s, u := l.s, l.u
	rec = &dieRec{tag: ab.tag, count: -1, bitOff: -1, oldBit: -1, memOff: -1, size: -1, file: -1}
	var highOff bool
	var high uint64
	for i := range ab.attrs {
		a := &ab.attrs[i]
		switch a.attr {
		case dwarf.AttrName:
			rec.name = readForm(s, c, u, a).s
		case dwarf.AttrLinkageName:
			if rec.tag == dwarf.TagSubprogram {
				rec.link = readForm(s, c, u, a).s
			} else {
				skipForm(c, u, a.form)
			}
		case dwarf.AttrType:
			v := readForm(s, c, u, a)
			rec.typ, rec.hasTyp = dwarf.Offset(v.u), v.isRef
		case dwarf.AttrAbstractOrigin, dwarf.AttrSpecification:
			if v := readForm(s, c, u, a); v.isRef {
				rec.origin = dwarf.Offset(v.u)
			}
		case dwarf.AttrExternal:
			rec.external = readForm(s, c, u, a).u != 0
		case dwarf.AttrDeclaration:
			rec.decl = readForm(s, c, u, a).u != 0
		case dwarf.AttrDeclFile:
			rec.file = int64(readForm(s, c, u, a).u)
		case dwarf.AttrDeclLine:
			rec.line = int64(readForm(s, c, u, a).u)
		case dwarf.AttrLowpc:
			rec.low, rec.hasLow = readForm(s, c, u, a).u, true
		case dwarf.AttrHighpc:
			high = readForm(s, c, u, a).u
			highOff = a.form != formAddr && (a.form < formAddrx1 || a.form > formAddrx4) && a.form != formAddrx && a.form != formGNUAddrIndex
		case dwarf.AttrRanges:
			hasRanges = true
			skipForm(c, u, a.form)
		case dwarf.AttrByteSize:
			rec.size = int64(readForm(s, c, u, a).u)
		case dwarf.AttrEncoding:
			rec.enc = int64(readForm(s, c, u, a).u)
		case dwarf.AttrDataMemberLoc:
			if v := readForm(s, c, u, a); !v.isStr && a.form != formExprloc && a.form != formBlock1 {
				rec.memOff = int64(v.u)
			}
		case dwarf.AttrDataBitOffset:
			rec.bitOff = int64(readForm(s, c, u, a).u)
		case dwarf.AttrBitOffset:
			rec.oldBit = int64(readForm(s, c, u, a).u)
		case dwarf.AttrBitSize:
			rec.bitSize = int64(readForm(s, c, u, a).u)
		case dwarf.AttrConstValue:
			rec.value = int64(readForm(s, c, u, a).u)
		case dwarf.AttrCount:
			rec.count = int64(readForm(s, c, u, a).u)
		case dwarf.AttrUpperBound:
			if rec.count < 0 {
				v := readForm(s, c, u, a)
				if int64(v.u) >= 0 {
					rec.count = int64(v.u) + 1
				}
			} else {
				skipForm(c, u, a.form)
			}
		default:
			skipForm(c, u, a.form)
		}
	}
	if rec.tag == dwarf.TagSubprogram && rec.hasLow && high != 0 {
		if highOff {
			rec.high = rec.low + high
		} else {
			rec.high = high
		}
	}
	if rec.tag == dwarf.TagMember && rec.memOff < 0 {
		rec.memOff = 0
	}
	return rec, hasRanges
}
