package debuginfo

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Sym is one function symbol: its address and, when the symbol table
// says (vmlinux's STT_FILE entries), the source file it was defined in.
type Sym struct {
	Addr uint64
	Size uint64 // 0 when unknown (System.map, kallsyms)
	File string // base name, e.g. "open.c"; empty when unknown
	// Local is set for static functions (STB_LOCAL, or "t" in System.map).
	Local bool
}

// Symbols maps function names to their symbols (several for a static name).
type Symbols map[string][]Sym

// Text is the address of _text in these symbols, 0 when absent.
func (s Symbols) Text() uint64 {
	if t := s["_text"]; len(t) == 1 {
		return t[0].Addr
	}
	return 0
}

// ReadSymbols parses System.map or /proc/kallsyms text ("addr type name
// [module]"), keeping text symbols. Module symbols (a fourth field) are
// kept under their name too.
func ReadSymbols(r io.Reader, name string) (Symbols, error) {
	syms := Symbols{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	zero := 0
	for sc.Scan() {
		line++
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 {
			if len(fs) == 0 {
				continue
			}
			return syms, fmt.Errorf("%s:%d: want \"address type name\" as in System.map or /proc/kallsyms", name, line)
		}
		addr, err := strconv.ParseUint(fs[0], 16, 64)
		if err != nil {
			return syms, fmt.Errorf("%s:%d: bad address %q", name, line, fs[0])
		}
		switch fs[1] {
		case "t", "T", "w", "W":
			if addr == 0 {
				zero++
			}
			syms[fs[2]] = append(syms[fs[2]], Sym{Addr: addr, Local: fs[1] == "t"})
		}
	}
	if err := sc.Err(); err != nil {
		return syms, fmt.Errorf("%s:%d: %w", name, line, err)
	}
	if zero > 0 && zero == countSyms(syms) {
		return syms, fmt.Errorf("%s: every address is 0: %w", name, ErrHiddenAddrs)
	}
	return syms, nil
}

func countSyms(s Symbols) int {
	n := 0
	for _, l := range s {
		n += len(l)
	}
	return n
}

// elfSymbols reads the function symbols of an opened ELF file, with the
// source file of local ones from the STT_FILE entries before them, so that
// static functions of one name are told apart.
func elfSymbols(f *elf.File, path string) (Symbols, error) {
	list, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNoSymbols, err)
	}
	syms := Symbols{}
	file := ""
	for _, s := range list {
		switch elf.ST_TYPE(s.Info) {
		case elf.STT_FILE:
			file = filepath.Base(s.Name)
		case elf.STT_FUNC, elf.STT_NOTYPE:
			if elf.ST_TYPE(s.Info) == elf.STT_NOTYPE && s.Name != "_text" {
				continue // _text tells which addresses these are
			}
			if s.Section == elf.SHN_UNDEF {
				continue
			}
			sym := Sym{Addr: s.Value, Size: s.Size}
			if elf.ST_BIND(s.Info) == elf.STB_LOCAL {
				sym.File = file
				sym.Local = true
			}
			syms[s.Name] = append(syms[s.Name], sym)
		}
	}
	return syms, nil
}

// ReadELFSymbols reads the function symbols of an ELF file (vmlinux, .ko).
func ReadELFSymbols(path string) (Symbols, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return elfSymbols(f, path)
}

// IsELF tells whether the file at path starts with the ELF magic.
func IsELF(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	return n == 4 && string(magic[:]) == elf.ELFMAG, nil
}

// LoadSymbols reads symbols from an ELF file (vmlinux) or a System.map /
// kallsyms text file, whichever path is.
func LoadSymbols(path string) (Symbols, error) {
	isELF, err := IsELF(path)
	if err != nil {
		return nil, err
	}
	if isELF {
		return ReadELFSymbols(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadSymbols(f, path)
}
