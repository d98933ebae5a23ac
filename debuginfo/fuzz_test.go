package debuginfo

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

// FuzzReadSymbols: System.map and kallsyms text never panics.
func FuzzReadSymbols(f *testing.F) {
	f.Add([]byte("ffffffff81000000 T _text\nffffffff81001000 t do_one [mod]\n"))
	f.Add([]byte("zz T x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		syms, err := ReadSymbols(bytes.NewReader(b), "fuzz.map")
		if err == nil {
			ix := FromSymbols(syms)
			for i := range ix.Funcs {
				if ix.At(ix.Funcs[i].Low) == nil {
					t.Fatalf("function %s not found at its own address", ix.Funcs[i].Name)
				}
			}
		}
	})
}

// FuzzNoteBuildID: ELF note data never panics.
func FuzzNoteBuildID(f *testing.F) {
	var note bytes.Buffer
	binary.Write(&note, binary.LittleEndian, []uint32{4, 4, 3})
	note.WriteString("GNU\x00\x01\x02\x03\x04")
	f.Add(note.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		abi.NoteBuildID(b, binary.LittleEndian)
	})
}

// FuzzOpenELF: a damaged vmlinux (DWARF, symbols, notes, line table)
// gives an error or an index, never a panic.
func FuzzOpenELF(f *testing.F) {
	data, err := os.ReadFile(fixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, uint16(0), byte(0))
	f.Add(data, uint16(100), byte(0xff))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte, at uint16, v byte) {
		b = bytes.Clone(b)
		if len(b) > 0 {
			b[int(at)%len(b)] ^= v
		}
		p := filepath.Join(dir, "elf")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ix, err := Open(p, Options{CacheDir: "-", Workers: 1})
		if err == nil {
			for i := range ix.Funcs {
				ix.Lookup(ix.Funcs[i].Low)
			}
		}
		if l, err := OpenLines(p); err == nil {
			for a := uint64(0x401000); a < 0x401120; a += 4 {
				l.At(a)
			}
			l.Close()
		}
	})
}
