package abi

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Field is one (offset, size) pair of a field table, with its member name.
type Field struct {
	Name string `json:"name,omitempty"`
	Off  uint64 `json:"off"`
	Size uint64 `json:"size"`
}

// ArgShape is one entry call a function emits (docs/layout.md).
type ArgShape struct {
	Idx    int     `json:"idx"`
	Size   int     `json:"size"`
	Marker bool    `json:"marker,omitempty"`
	Name   string  `json:"name,omitempty"`
	Type   string  `json:"type,omitempty"`
	Struct string  `json:"struct,omitempty"`
	Fields []Field `json:"fields"`
}

// RetShape is the shape of a function's return record.
type RetShape struct {
	Size   int     `json:"size"`
	Type   string  `json:"type,omitempty"`
	Struct string  `json:"struct,omitempty"`
	Fields []Field `json:"fields"`
}

// FuncShape is one line of a layout file: the records one instrumented
// function emits.
type FuncShape struct {
	Func   string     `json:"func"`
	File   string     `json:"file,omitempty"`
	Static bool       `json:"static,omitempty"`
	PC     string     `json:"pc,omitempty"`
	Args   []ArgShape `json:"args"`
	Ret    *RetShape  `json:"ret,omitempty"`
}

// Addr parses the optional pc; ok is false when the line has none.
func (f *FuncShape) Addr() (pc uint64, ok bool, err error) {
	if f.PC == "" {
		return 0, false, nil
	}
	pc, err = strconv.ParseUint(strings.TrimPrefix(f.PC, "0x"), 16, 64)
	if err != nil {
		return 0, false, fmt.Errorf("function %s: bad pc %q: %v", f.Func, f.PC, err)
	}
	return pc, true, nil
}

// Layout is the set of field tables of a kernel build: what a v1 decoder
// needs to know every record's length.
type Layout struct {
	Funcs []FuncShape
	// byName indexes Funcs by linkage name; static functions of the same
	// name in different files share a name.
	byName   map[string][]int
	bindings []binding
}

// ReadLayout parses a layout file (JSON Lines). A malformed line is an
// error naming the file and line; lines before it are kept.
func ReadLayout(r io.Reader, name string) (*Layout, error) {
	l := &Layout{byName: map[string][]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		var f FuncShape
		if err := json.Unmarshal(b, &f); err != nil {
			return l, fmt.Errorf("%s:%d: not a layout line (%v); layout files are JSON Lines as written by the compiler plugin, see docs/layout.md", name, line, err)
		}
		if err := f.check(); err != nil {
			return l, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		l.Add(f)
	}
	if err := sc.Err(); err != nil {
		return l, fmt.Errorf("%s:%d: %v", name, line, err)
	}
	return l, nil
}

// LoadLayout reads a layout file from disk.
func LoadLayout(path string) (*Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadLayout(f, path)
}

func (f *FuncShape) check() error {
	if f.Func == "" && f.PC == "" {
		return fmt.Errorf("function without \"func\" or \"pc\"")
	}
	if _, _, err := f.Addr(); err != nil {
		return err
	}
	for _, a := range f.Args {
		if a.Idx < 0 || a.Idx > 255 {
			return fmt.Errorf("function %s: argument index %d out of 0..255", f.Func, a.Idx)
		}
	}
	return nil
}

// Add appends one function's shape.
func (l *Layout) Add(f FuncShape) {
	if l.byName == nil {
		l.byName = map[string][]int{}
	}
	l.byName[f.Func] = append(l.byName[f.Func], len(l.Funcs))
	l.Funcs = append(l.Funcs, f)
}

// Write writes the layout as JSON Lines.
func (l *Layout) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range l.Funcs {
		if err := enc.Encode(&l.Funcs[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Lookup returns the shapes recorded under a linkage name.
func (l *Layout) Lookup(name string) []*FuncShape {
	var out []*FuncShape
	for _, i := range l.byName[name] {
		out = append(out, &l.Funcs[i])
	}
	return out
}

// sameLengths tells whether two shapes give every record the same length,
// which is all a decoder needs from them.
func sameLengths(a, b *FuncShape) bool {
	if len(a.Args) != len(b.Args) || (a.Ret == nil) != (b.Ret == nil) {
		return false
	}
	for i := range a.Args {
		if a.Args[i].Idx != b.Args[i].Idx || RecordWords(len(a.Args[i].Fields)) != RecordWords(len(b.Args[i].Fields)) {
			return false
		}
	}
	return a.Ret == nil || RecordWords(len(a.Ret.Fields)) == RecordWords(len(b.Ret.Fields))
}

// Sym is one function symbol: its address and, when the symbol table
// says (vmlinux's STT_FILE entries), the source file it was defined in.
type Sym struct {
	Addr uint64
	File string // base name, e.g. "open.c"; empty when unknown
}

// Symbols maps function names to their symbols (several for a static name).
type Symbols map[string][]Sym

// ReadSymbols parses System.map or /proc/kallsyms text ("addr type name
// [module]"), keeping text symbols.
func ReadSymbols(r io.Reader, name string) (Symbols, error) {
	syms := Symbols{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
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
			syms[fs[2]] = append(syms[fs[2]], Sym{Addr: addr})
		}
	}
	return syms, sc.Err()
}

// ReadELFSymbols reads the function symbols of an ELF file (vmlinux),
// with the source file of local ones from the STT_FILE entries before
// them, so that static functions of one name are told apart.
func ReadELFSymbols(path string) (Symbols, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	list, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %v (a vmlinux with its symbol table is needed)", path, err)
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
			sym := Sym{Addr: s.Value}
			if elf.ST_BIND(s.Info) == elf.STB_LOCAL {
				sym.File = file
			}
			syms[s.Name] = append(syms[s.Name], sym)
		}
	}
	return syms, nil
}

// LoadSymbols reads symbols from an ELF file (vmlinux) or a System.map /
// kallsyms text file, whichever path is.
func LoadSymbols(path string) (Symbols, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	if n, _ := io.ReadFull(f, magic[:]); n == 4 && string(magic[:]) == elf.ELFMAG {
		return ReadELFSymbols(path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return ReadSymbols(f, path)
}

// Bind gives every named function without a pc its addresses from syms.
// Static functions that share a name are matched by source file when the
// symbols know it (vmlinux); otherwise they bind only when all their
// shapes give the same record lengths, and are returned as ambiguous when
// not (their records then decode by re-synchronisation, and are reported).
func (l *Layout) Bind(syms Symbols) (bound int, missing, ambiguous []string) {
	for name, idx := range l.byName {
		if l.Funcs[idx[0]].PC != "" {
			continue
		}
		cands := syms[name]
		if len(cands) == 0 {
			missing = append(missing, name)
			continue
		}
		agree := true
		for _, i := range idx[1:] {
			agree = agree && sameLengths(&l.Funcs[idx[0]], &l.Funcs[i])
		}
		if agree {
			for _, c := range cands {
				l.bindings = append(l.bindings, binding{pc: c.Addr, fn: idx[0]})
				bound++
			}
			continue
		}
		// Shapes differ: each symbol needs its own shape, by file.
		unmatched := false
		for _, c := range cands {
			fn := -1
			for _, i := range idx {
				if c.File != "" && filepath.Base(l.Funcs[i].File) == c.File {
					if fn >= 0 && !sameLengths(&l.Funcs[fn], &l.Funcs[i]) {
						fn = -2 // two files of one base name disagree
						break
					}
					if fn == -1 {
						fn = i
					}
				}
			}
			if fn < 0 {
				unmatched = true
				continue
			}
			l.bindings = append(l.bindings, binding{pc: c.Addr, fn: fn})
			bound++
		}
		if unmatched {
			ambiguous = append(ambiguous, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(ambiguous)
	return bound, missing, ambiguous
}

// binding is an address given to a function by Bind.
type binding struct {
	pc uint64
	fn int
}

// Addresses calls f for every (pc, function) pair the layout knows: the
// functions' own pcs and those bound from symbols.
func (l *Layout) Addresses(f func(pc uint64, fn *FuncShape)) {
	for i := range l.Funcs {
		if pc, ok, _ := l.Funcs[i].Addr(); ok {
			f(pc, &l.Funcs[i])
		}
	}
	for _, b := range l.bindings {
		f(b.pc, &l.Funcs[b.fn])
	}
}
