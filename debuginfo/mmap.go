package debuginfo

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps a file read-only; the index copies what it keeps, so the
// mapping is released once the index is built.
func mapFile(path string) (data []byte, release func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 || st.Size() != int64(int(st.Size())) {
		data, err := os.ReadFile(path)
		return data, func() {}, err
	}
	data, err = unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		data, err := os.ReadFile(path)
		return data, func() {}, err
	}
	return data, func() { unix.Munmap(data) }, nil
}

// sectionBytes returns a section's bytes inside the mapped file, without
// a copy, when they are stored as they are.
func sectionBytes(f *elf.File, data []byte, name string) ([]byte, bool) {
	s := f.Section(name)
	if s == nil {
		return nil, true
	}
	if s.Flags&elf.SHF_COMPRESSED != 0 {
		// debug/elf inflates it (CONFIG_DEBUG_INFO_COMPRESSED kernels).
		b, err := s.Data()
		return b, err == nil
	}
	if s.Type == elf.SHT_NOBITS || s.Offset+s.FileSize > uint64(len(data)) || s.Offset+s.FileSize < s.Offset {
		return nil, false
	}
	return data[s.Offset : s.Offset+s.FileSize], true
}

// mappedDWARF builds debug/dwarf's view and the walker's sections from
// the mapped file (inflating compressed sections); it fails when the file
// needs debug/elf's handling (relocations of a .ko).
func mappedDWARF(f *elf.File, data []byte) (*dwarf.Data, *sections, error) {
	if f.Type == elf.ET_REL {
		return nil, nil, errors.New("relocatable")
	}
	get := map[string][]byte{}
	for _, n := range []string{".debug_abbrev", ".debug_aranges", ".debug_frame", ".debug_info", ".debug_line",
		".debug_pubnames", ".debug_ranges", ".debug_str", ".debug_addr", ".debug_line_str", ".debug_str_offsets", ".debug_rnglists", ".debug_loclists"} {
		b, ok := sectionBytes(f, data, n)
		if !ok {
			return nil, nil, errors.New("unreadable section " + n)
		}
		get[n] = b
	}
	d, err := dwarf.New(get[".debug_abbrev"], get[".debug_aranges"], get[".debug_frame"], get[".debug_info"],
		get[".debug_line"], get[".debug_pubnames"], get[".debug_ranges"], get[".debug_str"])
	if err != nil {
		return nil, nil, err
	}
	for _, n := range []string{".debug_addr", ".debug_line_str", ".debug_str_offsets", ".debug_rnglists"} {
		if get[n] != nil {
			if err := d.AddSection(n, get[n]); err != nil {
				return nil, nil, err
			}
		}
	}
	s := &sections{order: f.ByteOrder, info: get[".debug_info"], abbrev: get[".debug_abbrev"], str: get[".debug_str"],
		strOffsets: get[".debug_str_offsets"], lineStr: get[".debug_line_str"], addr: get[".debug_addr"]}
	return d, s, nil
}
