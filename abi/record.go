package abi

import "fmt"

// Format is a buffer layout.
type Format uint8

const (
	FormatAuto Format = iota
	// FormatV1 is the seed's layout, which our kernel writes: no length in
	// the record, so exact decoding needs the field tables (a Layout).
	FormatV1
	// FormatV2 adds the value count in header bits 24–27 (0 meaning 1).
	FormatV2
	// FormatV3 is the newest public layout: count, size and argument index
	// in the header, pc without the KASLR offset, comparison records.
	FormatV3
)

func (f Format) String() string {
	switch f {
	case FormatV1:
		return "v1"
	case FormatV2:
		return "v2"
	case FormatV3:
		return "v3"
	}
	return "auto"
}

// ParseFormat reads "v1", "v2", "v3" or "auto" ("1", "2", "3" and ""
// too).
func ParseFormat(s string) (Format, error) {
	switch s {
	case "v1", "1":
		return FormatV1, nil
	case "v2", "2":
		return FormatV2, nil
	case "v3", "3":
		return FormatV3, nil
	case "auto", "":
		return FormatAuto, nil
	}
	return FormatAuto, fmt.Errorf("unknown format %q (want v1, v2, v3 or auto)", s)
}

// MarshalText writes the format as String does, so that it is "v1" in
// JSON.
func (f Format) MarshalText() ([]byte, error) {
	if f > FormatV3 {
		return nil, fmt.Errorf("format %d has no name", uint8(f))
	}
	return []byte(f.String()), nil
}

// UnmarshalText reads what ParseFormat reads.
func (f *Format) UnmarshalText(b []byte) error {
	v, err := ParseFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// Kind is a record's type, the header's bits 28–31.
type Kind uint8

const (
	KindCompare Kind = 0xC // v3 only
	KindEntry   Kind = 0xE
	KindReturn  Kind = 0xF
)

func (k Kind) String() string {
	switch k {
	case KindCompare:
		return "CMP"
	case KindEntry:
		return "ENTRY"
	case KindReturn:
		return "RET"
	}
	return fmt.Sprintf("TYPE%X", uint8(k))
}

// Word-level constants shared by all layouts.
const (
	// BadAddr fills a field whose pointer was an ERR_PTR or whose field
	// pair could not be read.
	BadAddr = 0xBADADD85
	// SeqBits is the width of the per-task sequence number.
	SeqBits = 24
	SeqMask = 1<<SeqBits - 1
	// MaxSize is the largest size a size field holds (sizes are clamped).
	MaxSize = 255
	// MaxErrno: ERR_PTRs are the top MaxErrno values of the address space.
	MaxErrno = 4095
	// HeaderWords is the fixed part of every record: header, pc, meta.
	HeaderWords = 3

	v1PtrMask = 1<<48 - 1
)

// Record is one decoded record, independent of the layout it came from.
type Record struct {
	// Offset is the word index of the record's header in the area
	// (area[0], the count, is word 0).
	Offset int
	Kind   Kind
	Seq    uint32
	// PC is the instrumented function's address as stored: the runtime
	// address in v1 and v2, the address without KASLR offset in v3.
	PC uint64
	// ArgIdx is the 0-based source parameter index (entry records).
	ArgIdx uint8
	// Size is the argument's or return value's size in bytes, clamped to
	// 255; 0 marks a no-parameter or void marker (v1/v2) or an
	// optimised-out value (v3).
	Size uint8
	// Ptr is the captured pointer in canonical form (v1/v2 store its low
	// 48 bits), the traced address in v3, or the KCOV_CMP_* type of a v3
	// comparison.
	Ptr uint64
	// Values are the field values, or the one scalar value. Decoders alias
	// them to the buffer: copy them to keep them past the next record.
	Values []uint64
}

// Words is the record's length in words.
func (r *Record) Words() int { return HeaderWords + len(r.Values) }

// RecordWords is the length of a record with n field values (a record
// always has at least one value word).
func RecordWords(nfields int) int { return HeaderWords + max(nfields, 1) }

// IsErrPtr tells whether p is an ERR_PTR value.
func IsErrPtr(p uint64) bool { return p >= ^uint64(MaxErrno-1) }

// Canonical sign-extends a 48-bit address to its canonical 64-bit form.
func Canonical(p uint64) uint64 { return uint64(int64(p<<16) >> 16) }

// String renders the record as one line of `kcovdf decode`.
func (r *Record) String() string {
	b := make([]byte, 0, 96+19*len(r.Values))
	b = r.Append(b)
	return string(b)
}

// Append appends the text form of the record to b.
func (r *Record) Append(b []byte) []byte {
	b = fmt.Appendf(b, "[%s] seq=%d pc=%#x", r.Kind, r.Seq, r.PC)
	if r.Kind == KindEntry {
		b = fmt.Appendf(b, " arg[%d]", r.ArgIdx)
	}
	b = fmt.Appendf(b, " size=%d ptr=%#x", r.Size, r.Ptr)
	if len(r.Values) == 1 {
		return fmt.Appendf(b, " val=%#x", r.Values[0])
	}
	b = append(b, " fields=["...)
	for i, v := range r.Values {
		if i > 0 {
			b = append(b, ' ')
		}
		b = fmt.Appendf(b, "%#x", v)
	}
	return append(b, ']')
}

// Header and meta words of v1 (docs/records.md).

// V1Header builds a v1 header word.
func V1Header(k Kind, seq uint32) uint64 { return uint64(k)<<28 | uint64(seq&SeqMask) }

// V1Meta builds a v1 meta word; sizes above 255 are clamped, as our kernel does.
func V1Meta(k Kind, argIdx uint8, size uint32, ptr uint64) uint64 {
	if size > MaxSize {
		size = MaxSize
	}
	m := uint64(size)<<48 | ptr&v1PtrMask
	if k == KindEntry {
		m |= uint64(argIdx) << 56
	}
	return m
}

// v1HeaderOK tells whether w can be a v1 header: type E or F, every bit
// outside type and sequence zero.
func v1HeaderOK(w uint64) bool {
	return w&^(0xF<<28|SeqMask) == 0 && (w>>28 == uint64(KindEntry) || w>>28 == uint64(KindReturn))
}

// fillV1 fills r from a v1 (or v2) record whose header is at words[off].
func fillV1(r *Record, words []uint64, off, end int) {
	r.setV1(words, off, end, words[off], words[off+1], words[off+2])
}

// setV1 fills r from the v1 (or v2) record words[p:q] whose header, pc and
// meta words are h, pc, meta. The batch loops fill theirs inline: through
// this setter the compiler spills on every record.
func (r *Record) setV1(w []uint64, p, q int, h, pc, meta uint64) {
	r.Offset = p
	r.Kind = Kind(h >> 28 & 0xF)
	r.Seq = uint32(h & SeqMask)
	r.PC = pc
	r.ArgIdx = uint8(meta >> 56)
	r.Size = uint8(meta >> 48)
	r.Ptr = Canonical(meta & v1PtrMask)
	r.Values = w[p+HeaderWords : q : q]
}

// setV3 fills r from the v3 record words[p:q] whose header is h (for the
// general path; the batch loop fills its own, as with setV1).
func (r *Record) setV3(w []uint64, p, q int, h uint64) {
	r.Offset = p
	r.Kind = Kind(h >> 28 & 0xF)
	r.Seq = uint32(h & SeqMask)
	r.PC = w[p+1]
	r.Ptr = w[p+2]
	r.Size = uint8(h >> 48)
	r.ArgIdx = uint8(h >> 56)
	r.Values = w[p+HeaderWords : q : q]
}

// V1RecordAt decodes the v1 record of n words at words[off], for callers
// that know its length (a model's ground truth, a layout). Values alias
// words.
func V1RecordAt(words []uint64, off, n int) Record {
	var r Record
	fillV1(&r, words, off, off+n)
	return r
}

// EncodeV1 appends r in the v1 layout; len(r.Values) must be ≥ 1.
func EncodeV1(dst []uint64, r *Record) []uint64 {
	dst = append(dst, V1Header(r.Kind, r.Seq), r.PC, V1Meta(r.Kind, r.ArgIdx, uint32(r.Size), r.Ptr))
	return append(dst, r.Values...)
}

// EncodeV2 appends r in the v2 layout: v1 plus the value count in bits
// 24–27 (a count of 16 or more wraps, as upstream's does).
func EncodeV2(dst []uint64, r *Record) []uint64 {
	n := len(r.Values)
	dst = append(dst, V1Header(r.Kind, r.Seq)|uint64(n&0xF)<<24, r.PC, V1Meta(r.Kind, r.ArgIdx, uint32(r.Size), r.Ptr))
	return append(dst, r.Values...)
}

// EncodeV3 appends r in the v3 layout.
func EncodeV3(dst []uint64, r *Record) []uint64 {
	h := uint64(r.Kind)<<28 | uint64(r.Seq&SeqMask) | uint64(uint16(len(r.Values)))<<32 | uint64(r.Size)<<48
	if r.Kind == KindEntry {
		h |= uint64(r.ArgIdx) << 56
	}
	dst = append(dst, h, r.PC, r.Ptr)
	return append(dst, r.Values...)
}

// Encode appends r in format f.
func Encode(f Format, dst []uint64, r *Record) []uint64 {
	switch f {
	case FormatV2:
		return EncodeV2(dst, r)
	case FormatV3:
		return EncodeV3(dst, r)
	}
	return EncodeV1(dst, r)
}
