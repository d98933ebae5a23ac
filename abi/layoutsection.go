package abi

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// LayoutSection is the ELF section in which the compiler plugin binds each
// instrumented function's layout to the function's address. Each record is
//
//	u64 pc, u32 length, u32 version, length bytes of JSON (one layout line),
//	zero padding to a multiple of 8 bytes
//
// in the image's byte order. In a linked image the pc is the function's
// link-time address (the relocation the compiler emitted, resolved), so the
// records say which shape each pc has whatever the linker did with names.
const LayoutSection = ".kcovdf_layout"

// layoutRecordVersion is the record version this decoder reads.
const layoutRecordVersion = 1

// ErrNoLayoutSection: the image has no .kcovdf_layout section (built
// without the plugin, or by a plugin too old to emit it, or stripped).
var ErrNoLayoutSection = errors.New("no " + LayoutSection + " section")

// ParseLayoutSection decodes the records of a .kcovdf_layout section. A
// record the linker discarded with its function (pc 0 or all ones) is
// skipped. A damaged record is an error naming its offset; the records
// before it are returned.
func ParseLayoutSection(data []byte, order binary.ByteOrder, name string) ([]FuncShape, error) {
	var out []FuncShape
	for off := 0; off < len(data); {
		if len(data)-off < 16 {
			if allZero(data[off:]) {
				break // alignment padding between input sections
			}
			return out, fmt.Errorf("%s: %s+%#x: %d bytes left, a record header needs 16", name, LayoutSection, off, len(data)-off)
		}
		pc := order.Uint64(data[off:])
		n := int(order.Uint32(data[off+8:]))
		ver := order.Uint32(data[off+12:])
		if pc == 0 && ver != layoutRecordVersion {
			// Zero padding between input sections: a record whose function
			// was discarded also has pc 0, but a version.
			off += 8
			continue
		}
		if ver != layoutRecordVersion {
			return out, fmt.Errorf("%s: %s+%#x: record version %d, this decoder reads %d", name, LayoutSection, off, ver, layoutRecordVersion)
		}
		end := off + 16 + (n+7)&^7
		if n == 0 || end > len(data) || end < off {
			return out, fmt.Errorf("%s: %s+%#x: record of %d bytes runs past the section's %d", name, LayoutSection, off, n, len(data))
		}
		text, at := data[off+16:off+16+n], off
		off = end
		if pc == 0 || pc == ^uint64(0) {
			continue
		}
		var f FuncShape
		if err := json.Unmarshal(text, &f); err != nil {
			return out, fmt.Errorf("%s: %s+%#x: not a layout record (%v)", name, LayoutSection, at, err)
		}
		f.PC = "0x" + strconv.FormatUint(pc, 16)
		if err := f.check(); err != nil {
			return out, fmt.Errorf("%s: %s+%#x: %v", name, LayoutSection, at, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func allZero(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }

// ReadLayoutELF reads the layout records of a linked ELF image (a vmlinux,
// or a program built with the plugin). Relocatable objects (.o, .ko) carry
// their pcs as relocations, not addresses, and are refused.
func ReadLayoutELF(r io.ReaderAt, name string) (*Layout, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	defer f.Close()
	if f.Type == elf.ET_REL {
		return nil, fmt.Errorf("%s: a relocatable object: its layout pcs are not addresses until it is linked", name)
	}
	s := f.Section(LayoutSection)
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("%s: %w", name, ErrNoLayoutSection)
	}
	data, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", name, LayoutSection, err)
	}
	funcs, err := ParseLayoutSection(data, f.ByteOrder, name)
	if err == nil && len(funcs) == 0 && f.Type == elf.ET_DYN && !allZero(data) {
		return nil, fmt.Errorf("%s: a position-independent image: its layout pcs are dynamic relocations; link it with -no-pie", name)
	}
	l := &Layout{}
	for _, fn := range funcs {
		l.Add(fn)
	}
	return l, err
}
