package abi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// TraceMagic starts every kcovdf trace file.
const TraceMagic = "KCOVDFTR"

// TraceVersion is the trace file format version this package writes.
const TraceVersion = 1

// maxMetaBytes bounds the metadata block, so a corrupt length cannot make
// a reader allocate gigabytes.
const maxMetaBytes = 1 << 20

// Meta is the capture metadata stored with the words.
type Meta struct {
	// Format of the records: v1 for our kernel; FormatAuto (a raw dump,
	// or unknown) lets readers detect it. "v1" in the file.
	Format Format `json:"format"`
	// KernelRelease is uname -r of the traced kernel.
	KernelRelease string `json:"kernel_release,omitempty"`
	// KASLROffset of the traced boot; left out when it could not be read.
	KASLROffset KASLROffset `json:"kaslr_offset,omitzero"`
	// BuildID is the traced kernel's GNU build id (hex), to check a
	// vmlinux against; empty when unknown.
	BuildID string `json:"build_id,omitempty"`
	// Modules are the kernel modules loaded at capture time, with their
	// text sections' addresses, to name module pcs from their .ko files.
	Modules []Module `json:"modules,omitempty"`
	// BufferWords is the size given to INIT_TRACE.
	BufferWords int `json:"buffer_words"`
	// Fill is area[0] at capture time.
	Fill uint64 `json:"fill"`
	// Overflowed is set when records were dropped (or, without a drop
	// counter, when the buffer had no room left for another record).
	Overflowed bool `json:"overflowed"`
	// Dropped is the drop counter, when the kernel has one.
	Dropped *uint64 `json:"dropped,omitempty"`
	// Command is what was traced.
	Command  []string  `json:"command,omitempty"`
	Captured time.Time `json:"captured,omitzero"`
	// Source says where the words came from (a device, the model).
	Source string `json:"source,omitempty"`
	// CRC32C of the words as stored, to catch later corruption.
	CRC32C uint32 `json:"crc32c"`
	// Kcov announces the classic kcov section after the words; nil when
	// the file has none.
	Kcov *KcovMeta `json:"kcov,omitempty"`
	// Follow marks a follow-mode buffer (docs/follow.md): the words are
	// per-task chunks, not one v1 area. nil for a single-task capture.
	Follow *FollowMeta `json:"follow,omitempty"`
}

// FollowMeta describes a follow-mode capture: the chunk size the mode was
// enabled with, which a reader needs to find chunk k without trusting the
// tags.
type FollowMeta struct {
	ChunkWords int `json:"chunk_words"`
}

// KcovMeta describes the classic kcov (KCOV_TRACE_PC) coverage captured
// beside the words, on the same thread and in the same run.
type KcovMeta struct {
	// PCs is how many PCs the section holds.
	PCs uint64 `json:"pcs"`
	// Count is kcov's area[0] when read: above PCs when its buffer filled
	// (kcov stops storing, not counting).
	Count uint64 `json:"count"`
	// BufferWords is the size given to KCOV_INIT_TRACE.
	BufferWords int `json:"buffer_words"`
	// CRC32C of the section's PCs as stored.
	CRC32C uint32 `json:"crc32c"`
}

// Overflowed tells whether kcov counted PCs it had no room to store.
func (k *KcovMeta) Overflowed() bool { return k != nil && k.Count > k.PCs }

// KcovSectionMagic starts the classic kcov section that follows the words
// of a trace file whose metadata announces it.
const KcovSectionMagic = "KCOVPCS\x00"

// Module is a loaded kernel module: its name and the runtime addresses
// of its sections, as /sys/module/NAME/sections gives them.
type Module struct {
	Name     string          `json:"name"`
	Sections map[string]Addr `json:"sections"`
}

// SectionAddrs returns the sections' addresses as plain numbers.
func (m *Module) SectionAddrs() map[string]uint64 {
	s := make(map[string]uint64, len(m.Sections))
	for name, a := range m.Sections {
		s[name] = uint64(a)
	}
	return s
}

// Addr is an address that trace metadata holds as a hex string
// ("0xffffffffc0a00000"), as sysfs shows it.
type Addr uint64

// ParseAddr reads a hex address, with or without "0x".
func ParseAddr(s string) (Addr, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("address %q is not a hex number", s)
	}
	return Addr(v), nil
}

// String is the address in hex.
func (a Addr) String() string { return fmt.Sprintf("%#x", uint64(a)) }

// MarshalText writes the hex string.
func (a Addr) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%#x", uint64(a)), nil }

// UnmarshalText reads what ParseAddr reads.
func (a *Addr) UnmarshalText(b []byte) error {
	v, err := ParseAddr(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Slide is the KASLR offset; ok is false when unknown.
func (m *Meta) Slide() (slide uint64, ok bool) {
	return m.KASLROffset.Offset, m.KASLROffset.Known
}

// KASLROffset is the runtime address minus the link-time address of kernel
// text. In trace metadata it is a hex string ("0x1e00000"); the zero value
// is unknown and left out.
type KASLROffset struct {
	Offset uint64
	Known  bool
}

// KnownKASLROffset is a KASLR offset that was read.
func KnownKASLROffset(off uint64) KASLROffset { return KASLROffset{Offset: off, Known: true} }

// ParseKASLROffset reads a hex offset, with or without "0x"; "" is
// unknown.
func ParseKASLROffset(s string) (KASLROffset, error) {
	if s == "" {
		return KASLROffset{}, nil
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"), 16, 64)
	if err != nil {
		return KASLROffset{}, fmt.Errorf("KASLR offset %q is not a hex number", s)
	}
	return KnownKASLROffset(v), nil
}

// String is the offset in hex, or "unknown".
func (k KASLROffset) String() string {
	if !k.Known {
		return "unknown"
	}
	return fmt.Sprintf("%#x", k.Offset)
}

// IsZero tells JSON's omitzero to leave an unknown offset out.
func (k KASLROffset) IsZero() bool { return !k.Known }

// MarshalText writes the hex string trace files hold ("" when unknown).
func (k KASLROffset) MarshalText() ([]byte, error) {
	if !k.Known {
		return []byte{}, nil
	}
	return fmt.Appendf(nil, "%#x", k.Offset), nil
}

// UnmarshalText reads what ParseKASLROffset reads.
func (k *KASLROffset) UnmarshalText(b []byte) error {
	v, err := ParseKASLROffset(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Trace is a captured buffer: metadata and the area's words, area[0]
// first.
type Trace struct {
	Meta Meta
	// Raw is set when the file was a bare dump of the mmap'd area.
	Raw bool
	// Words may be the file itself, mapped read-only (see LoadTrace):
	// copy them to change them.
	Words []uint64
	// KcovPCs is the classic kcov coverage of the same run, in execution
	// order, when the file has it (Meta.Kcov set). kcov gives kernel text
	// PCs at their link-time addresses (it subtracts the KASLR offset
	// itself); module PCs are runtime addresses. Like Words it may be
	// the mapped file.
	KcovPCs []uint64
	// mapped is the file mapping Words points into, until Close.
	mapped []byte
}

// FollowArea is the area to give DecodeFollowChunks for a follow-mode
// trace: the file holds its words up to the last chunk taken (or fewer,
// when it was cut short), and the words past that were never written, so
// they are zeros up to the buffer's size; a chunk the cut went through
// then gives its records before the cut and an anomaly after. A copy when
// padded; Words as they are otherwise.
func (t *Trace) FollowArea() []uint64 {
	n := t.Meta.BufferWords
	if t.Meta.Follow == nil || len(t.Words) >= n || n > MaxWords {
		return t.Words
	}
	area := make([]uint64, n)
	copy(area, t.Words)
	return area
}

// Close releases the file mapping of a trace that LoadTrace reads in
// place; its Words (and records decoded from them) must not be used
// after. It does nothing for other traces and may be called again.
func (t *Trace) Close() error {
	if t.mapped == nil {
		return nil
	}
	m := t.mapped
	t.mapped, t.Words = nil, nil
	return unmapFile(m)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteTrace writes t in the trace file format: magic, version, metadata
// length and JSON metadata, padding to 8 bytes, word count, words (little
// endian).
func WriteTrace(w io.Writer, t *Trace) error {
	if !littleEndianHost {
		return errors.New("trace files are written on little-endian hosts only")
	}
	m := t.Meta
	m.CRC32C = crc32.Checksum(wordBytes(t.Words), castagnoli)
	if m.Kcov != nil || t.KcovPCs != nil {
		k := KcovMeta{Count: uint64(len(t.KcovPCs))}
		if m.Kcov != nil {
			k = *m.Kcov
		}
		k.PCs = uint64(len(t.KcovPCs))
		k.Count = max(k.Count, k.PCs)
		k.CRC32C = crc32.Checksum(wordBytes(t.KcovPCs), castagnoli)
		m.Kcov = &k
	}
	meta, err := json.Marshal(&m)
	if err != nil {
		return err
	}
	var hdr bytes.Buffer
	hdr.WriteString(TraceMagic)
	binary.Write(&hdr, binary.LittleEndian, uint32(TraceVersion))
	binary.Write(&hdr, binary.LittleEndian, uint32(len(meta)))
	hdr.Write(meta)
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(0)
	}
	binary.Write(&hdr, binary.LittleEndian, uint64(len(t.Words)))
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	if _, err = w.Write(wordBytes(t.Words)); err != nil || m.Kcov == nil {
		return err
	}
	var sec [16]byte
	copy(sec[:], KcovSectionMagic)
	binary.LittleEndian.PutUint64(sec[8:], uint64(len(t.KcovPCs)))
	if _, err := w.Write(sec[:]); err != nil {
		return err
	}
	_, err = w.Write(wordBytes(t.KcovPCs))
	return err
}

// SaveTrace writes t to path (via a temporary file and a rename, so a
// reader never sees half a trace).
func SaveTrace(path string, t *Trace) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := WriteTrace(f, t); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// FileError is a problem with a trace file at a byte and word offset. The
// Trace returned beside it keeps every whole word that was read.
type FileError struct {
	File string
	// Word is the offset in words of the area (area[0] is word 0), or -1
	// when the problem is in the file header.
	Word   int
	Byte   int64
	Reason string
}

func (e *FileError) Error() string {
	if e.Word >= 0 {
		return fmt.Sprintf("%s: word %d (byte %d): %s", e.File, e.Word, e.Byte, e.Reason)
	}
	return fmt.Sprintf("%s: byte %d: %s", e.File, e.Byte, e.Reason)
}

// ParseTrace reads a trace file, or a raw dump of the mmap'd area (any
// data without the magic, area[0] first). On a damaged file it returns
// what could be read together with a *FileError. The words are copied:
// data may be reused after.
func ParseTrace(data []byte, name string) (*Trace, error) {
	t, _, err := parseTrace(data, name, false)
	return t, err
}

// parseTrace is ParseTrace; with inPlace set the words are read from data
// itself where its alignment allows, which viewed then tells.
func parseTrace(data []byte, name string, inPlace bool) (t *Trace, viewed bool, err error) {
	words := func(b []byte) []uint64 {
		if inPlace {
			if w, ok := wordsInPlace(b); ok {
				viewed = true
				return w
			}
		}
		return bytesToWords(b)
	}
	t, err = parseWith(data, name, words)
	return t, viewed, err
}

func parseWith(data []byte, name string, words func([]byte) []uint64) (*Trace, error) {
	if !littleEndianHost {
		return nil, errors.New("trace files are read on little-endian hosts only")
	}
	if !bytes.HasPrefix(data, []byte(TraceMagic)) {
		t := &Trace{Raw: true, Meta: Meta{Format: FormatAuto}}
		n := len(data) / 8
		t.Words = words(data[:n*8])
		t.Meta.BufferWords = n
		if n > 0 {
			t.Meta.Fill = t.Words[0]
		}
		if len(data)%8 != 0 {
			return t, &FileError{File: name, Word: n, Byte: int64(n * 8), Reason: fmt.Sprintf("raw dump ends with %d bytes that are not a whole word (kept the %d whole words)", len(data)%8, n)}
		}
		if n == 0 {
			return t, &FileError{File: name, Word: 0, Byte: 0, Reason: "empty file: neither a trace file nor a dump of the area"}
		}
		return t, nil
	}
	herr := func(off int, format string, a ...any) error {
		return &FileError{File: name, Word: -1, Byte: int64(off), Reason: fmt.Sprintf(format, a...)}
	}
	if len(data) < 16 {
		return nil, herr(len(data), "trace file header cut short (%d bytes)", len(data))
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != TraceVersion {
		return nil, herr(8, "trace file version %d, this kcovdf reads version %d (upgrade kcovdf)", v, TraceVersion)
	}
	mlen := int(binary.LittleEndian.Uint32(data[12:]))
	if mlen > maxMetaBytes || 16+mlen > len(data) {
		return nil, herr(12, "metadata of %d bytes does not fit in the file of %d bytes", mlen, len(data))
	}
	t := &Trace{}
	if err := json.Unmarshal(data[16:16+mlen], &t.Meta); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, herr(16, "metadata is not valid JSON: %v", err)
		}
		return nil, herr(16, "metadata: %v", err)
	}
	off := (16 + mlen + 7) &^ 7
	if off+8 > len(data) {
		return t, herr(off, "word count missing: file cut short")
	}
	count := binary.LittleEndian.Uint64(data[off:])
	off += 8
	have := (len(data) - off) / 8
	if count < uint64(have) {
		have = int(count)
	}
	t.Words = words(data[off : off+have*8])
	end := off + have*8 // where the words stop
	if count > uint64(have) {
		reason := fmt.Sprintf("file cut short: %d words announced, %d present (kept those)", count, have)
		if t.Meta.Kcov != nil {
			reason += "; the classic kcov section after them is lost"
		}
		return t, &FileError{File: name, Word: have, Byte: int64(end), Reason: reason}
	}
	// The words come first: their damage is reported before the section's.
	var werr error
	if sum := crc32.Checksum(wordBytes(t.Words), castagnoli); sum != t.Meta.CRC32C {
		werr = &FileError{File: name, Word: 0, Byte: int64(off), Reason: fmt.Sprintf("checksum %#08x, metadata says %#08x: the words were altered after capture", sum, t.Meta.CRC32C)}
	}
	if t.Meta.Kcov != nil {
		next, kerr := parseKcovSection(t, data, end, name, words)
		end = next
		if werr == nil {
			werr = kerr
		}
	}
	if werr != nil {
		return t, werr
	}
	if rest := len(data) - end; rest > 0 {
		if rest < 8 && t.Meta.Kcov == nil {
			return t, &FileError{File: name, Word: have, Byte: int64(end), Reason: "trailing bytes that are not a whole word (ignored)"}
		}
		after := fmt.Sprintf("the %d words", have)
		if t.Meta.Kcov != nil {
			after += " and the classic kcov section"
		}
		return t, &FileError{File: name, Word: have, Byte: int64(end), Reason: fmt.Sprintf("%d bytes of trailing data after %s (ignored)", rest, after)}
	}
	return t, nil
}

// parseKcovSection reads the classic kcov section the metadata announces at
// off: KcovSectionMagic, a PC count, the PCs. It keeps every whole PC it
// finds and returns where the section ends.
func parseKcovSection(t *Trace, data []byte, off int, name string, words func([]byte) []uint64) (int, error) {
	serr := func(at int, format string, a ...any) error {
		return &FileError{File: name, Word: -1, Byte: int64(at), Reason: "classic kcov section: " + fmt.Sprintf(format, a...)}
	}
	if off+16 > len(data) {
		return len(data), serr(off, "missing or cut short (the metadata announces %d PCs; the words are kept)", t.Meta.Kcov.PCs)
	}
	if string(data[off:off+8]) != KcovSectionMagic {
		return len(data), serr(off, "does not start with %q (the words are kept)", strings.TrimRight(KcovSectionMagic, "\x00"))
	}
	count := binary.LittleEndian.Uint64(data[off+8:])
	off += 16
	have := (len(data) - off) / 8
	if count < uint64(have) {
		have = int(count)
	}
	t.KcovPCs = words(data[off : off+have*8])
	end := off + have*8
	switch {
	case count > uint64(have):
		return end, serr(end, "cut short: %d PCs announced, %d present (kept those)", count, have)
	case count != t.Meta.Kcov.PCs:
		return end, serr(off-8, "%d PCs, the metadata says %d", count, t.Meta.Kcov.PCs)
	}
	if sum := crc32.Checksum(wordBytes(t.KcovPCs), castagnoli); sum != t.Meta.Kcov.CRC32C {
		return end, serr(off, "checksum %#08x, metadata says %#08x: the PCs were altered after capture", sum, t.Meta.Kcov.CRC32C)
	}
	return end, nil
}

// bytesToWords copies b (a multiple of 8 bytes) into words.
func bytesToWords(b []byte) []uint64 {
	w := make([]uint64, len(b)/8)
	copy(wordBytes(w), b)
	return w
}

// LoadTrace reads a trace file or raw dump from disk. A regular file is
// mapped read-only and its words are read in place (trace files keep them
// little endian and 8-byte aligned), so that loading costs no copy and
// memory stays the file's size; Close the trace to unmap it. Where the file
// cannot be mapped (a pipe, another OS) it is read into memory. A mapped
// file must not shrink while in use (SaveTrace replaces files by renaming,
// so it never does).
func LoadTrace(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		if data, err := mapFile(f, st.Size()); err == nil {
			t, viewed, perr := parseTrace(data, path, true)
			if t != nil && viewed && t.Words != nil {
				t.mapped = data
			} else {
				unmapFile(data)
			}
			return t, perr
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// The words may stay in data, which nobody else holds.
	t, _, err := parseTrace(data, path, true)
	return t, err
}
