package debuginfo

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kcovdf/kcovdf/abi"
)

// Errors a caller may test with errors.Is.
var (
	ErrNoSymbols   = errors.New("no symbol table")
	ErrHiddenAddrs = errors.New("addresses hidden (kallsyms read without privilege)")
	ErrBuildID     = errors.New("build id mismatch")
	ErrNotKernel   = errors.New("not a kernel image")
)

// LinkText is where x86-64 kernels link _text. Every address an Index
// keeps is relative to it: the address's offset from its source's _text,
// plus LinkText. The trace's KASLR offset is computed the same way
// (runtime _text minus LinkText), so one subtraction maps a traced pc to
// an Index address whatever the symbols came from.
const LinkText = abi.LinkText

// Source names where an Index's names came from.
type Source string

const (
	SourceDWARF   Source = "dwarf"
	SourceBTF     Source = "btf"
	SourceELF     Source = "elf-symbols"
	SourceSymbols Source = "symbol-map" // System.map or kallsyms text
)

// Index maps link-time addresses to functions. It is read-only once
// built, so any number of goroutines may look things up at once.
type Index struct {
	Path    string
	BuildID string // hex GNU build id, empty when the file has none
	Source  Source
	// Rebase is what was subtracted from the source's addresses to make
	// them relative to LinkText: non-zero for kallsyms of a randomised
	// boot, whose own KASLR offset it then is.
	Rebase uint64
	// TextSymbols is set when the addresses came from System.map or
	// kallsyms text, which may be a boot's runtime addresses.
	TextSymbols bool
	// Funcs sorted by Low; several names at one address are kept once
	// (Aliases lists the others).
	Funcs   []Func
	Types   []Type
	Aliases map[string]uint64
	// Stats of the read, for reports.
	Stats Stats

	starts []uint64
	ends   []uint64 // Funcs[i].High, beside starts for the cache's sake
	byName map[string][]int32
	// buckets[i] is the index of the first function that starts at or
	// after bucketBase + i<<bucketShift: a lookup searches one bucket.
	buckets     []int32
	bucketBase  uint64
	bucketShift uint
}

// Stats tells what an index was built from and how long it took.
type Stats struct {
	Units      int           // DWARF compile units
	DWARFFuncs int           // functions with a signature
	SymOnly    int           // functions known by symbol only
	Elapsed    time.Duration // to build or to load from the cache
	Cached     bool
}

// finish sorts the functions and builds the lookup tables.
func (ix *Index) finish() {
	slices.SortStableFunc(ix.Funcs, func(a, b Func) int {
		return cmp.Or(cmp.Compare(a.Low, b.Low), boolCmp(b.HasSig, a.HasSig))
	})
	// One function per address: the first (with a signature) wins.
	out := ix.Funcs[:0]
	for i, f := range ix.Funcs {
		if i > 0 && len(out) > 0 && out[len(out)-1].Low == f.Low {
			if ix.Aliases == nil {
				ix.Aliases = map[string]uint64{}
			}
			if f.Name != out[len(out)-1].Name {
				ix.Aliases[f.Name] = f.Low
			}
			continue
		}
		out = append(out, f)
	}
	ix.Funcs = out
	ix.index()
}

// index builds the derived lookup tables (not cached on disk).
func (ix *Index) index() {
	ix.starts = make([]uint64, len(ix.Funcs))
	ix.ends = make([]uint64, len(ix.Funcs))
	ix.byName = make(map[string][]int32, len(ix.Funcs))
	for i := range ix.Funcs {
		ix.starts[i] = ix.Funcs[i].Low
		ix.ends[i] = ix.Funcs[i].High
		ix.byName[ix.Funcs[i].Name] = append(ix.byName[ix.Funcs[i].Name], int32(i))
	}
	for name, addr := range ix.Aliases {
		if i, ok := slices.BinarySearch(ix.starts, addr); ok {
			ix.byName[name] = append(ix.byName[name], int32(i))
		}
	}
	ix.buckets = nil
	if len(ix.starts) == 0 {
		return
	}
	ix.bucketBase = ix.starts[0]
	span := ix.starts[len(ix.starts)-1] - ix.bucketBase
	ix.bucketShift = 12
	for span>>ix.bucketShift > uint64(4*len(ix.starts)+1024) {
		ix.bucketShift++
	}
	n := int(span>>ix.bucketShift) + 2
	ix.buckets = make([]int32, n)
	j := 0
	for b := range ix.buckets {
		if uint64(b) > (^uint64(0)-ix.bucketBase)>>ix.bucketShift {
			j = len(ix.starts) // the bucket starts past the address space
		}
		lim := ix.bucketBase + uint64(b)<<ix.bucketShift
		for j < len(ix.starts) && ix.starts[j] < lim {
			j++
		}
		ix.buckets[b] = int32(j)
	}
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// Lookup returns the function that contains the link-time address addr,
// or nil. A function of unknown size (System.map) contains everything up
// to the next one.
func (ix *Index) Lookup(addr uint64) *Func {
	if ix == nil {
		return nil
	}
	s := ix.starts
	if len(s) == 0 || addr < ix.bucketBase {
		return nil
	}
	// Search one bucket; the function may also start before it.
	lo, hi := 0, len(s)
	if b := (addr - ix.bucketBase) >> ix.bucketShift; b+1 < uint64(len(ix.buckets)) {
		lo, hi = int(ix.buckets[b]), int(ix.buckets[b+1])
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] <= addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return nil
	}
	if e := ix.ends[lo-1]; e != 0 && addr >= e {
		return nil
	}
	return &ix.Funcs[lo-1]
}

// At returns the function that starts exactly at addr, or nil.
func (ix *Index) At(addr uint64) *Func {
	if f := ix.Lookup(addr); f != nil && f.Low == addr {
		return f
	}
	return nil
}

// ByName returns the functions of a name (several for static ones).
func (ix *Index) ByName(name string) []*Func {
	if ix == nil {
		return nil
	}
	var out []*Func
	for _, i := range ix.byName[name] {
		out = append(out, &ix.Funcs[i])
	}
	return out
}

// Options configure Open.
type Options struct {
	// Workers reading DWARF units; 0 means GOMAXPROCS.
	Workers int
	// CacheDir holds indexes by build id; "" means the user cache
	// directory's kcovdf/debuginfo, and "-" disables the cache.
	CacheDir string
	// portable reads DWARF with debug/dwarf's Reader only (tests compare
	// the two readers).
	portable bool
}

// Open builds the index of a vmlinux (or .ko) or of a System.map or
// kallsyms file. An ELF file is read from its DWARF when it has some,
// else from its BTF, else from its symbol table; functions the debug
// info lacks (assembly, units built without -g) are added from the
// symbol table with their names only.
func Open(path string, opt Options) (*Index, error) {
	t0 := time.Now()
	isELF, err := IsELF(path)
	if err != nil {
		return nil, err
	}
	if !isELF {
		syms, err := LoadSymbols(path)
		if err != nil {
			return nil, err
		}
		ix := FromSymbols(syms)
		ix.Path = path
		if len(ix.Funcs) == 0 {
			return nil, fmt.Errorf("%s: no text symbols (want a vmlinux, System.map or /proc/kallsyms): %w", path, ErrNoSymbols)
		}
		ix.Stats.Elapsed = time.Since(t0)
		return ix, nil
	}
	data, release, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	defer release()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	id := buildID(f)
	cache := cacheDir(opt.CacheDir)
	if id != "" && cache != "" {
		if ix, err := loadCache(cache, id); err == nil {
			ix.Path = path
			ix.Stats.Cached = true
			ix.Stats.Elapsed = time.Since(t0)
			return ix, nil
		}
	}
	ix, err := readELF(f, data, path, opt)
	if err != nil {
		return nil, err
	}
	ix.BuildID = id
	ix.Stats.Elapsed = time.Since(t0)
	if id != "" && cache != "" {
		// A cache that cannot be written only costs time next run.
		_ = saveCache(cache, ix)
	}
	return ix, nil
}

func readELF(f *elf.File, data []byte, path string, opt Options) (*Index, error) {
	ix := &Index{Path: path}
	syms, symErr := elfSymbols(f, path)
	text := syms.Text()
	if text != 0 {
		ix.Rebase = text - LinkText
	}
	if f.Section(".debug_info") != nil {
		// Read in place from the mapped file; debug/elf copies and
		// handles what that cannot (compressed sections, relocations).
		d, secs, err := mappedDWARF(f, data)
		if err != nil || opt.portable {
			if d, err = f.DWARF(); err != nil {
				return nil, fmt.Errorf("%s: DWARF: %w", path, err)
			}
			secs = nil
		}
		funcs, types, units, err := readDWARF(d, secs, opt.Workers, false)
		if err != nil && len(funcs) == 0 {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ix.Source, ix.Funcs, ix.Types = SourceDWARF, funcs, types
		ix.Stats.DWARFFuncs = len(funcs)
		ix.Stats.Units = units
	} else if f.Section(".BTF") != nil {
		if symErr != nil {
			return nil, symErr
		}
		funcs, types, err := readBTFELF(f, syms)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ix.Source, ix.Funcs, ix.Types = SourceBTF, funcs, types
		ix.Stats.DWARFFuncs = len(funcs)
	} else {
		if symErr != nil {
			return nil, symErr
		}
		ix.Source = SourceELF
	}
	if ix.Source != SourceELF && ix.Rebase != 0 {
		for i := range ix.Funcs {
			ix.Funcs[i].Low -= ix.Rebase
			if ix.Funcs[i].High != 0 {
				ix.Funcs[i].High -= ix.Rebase
			}
		}
	}
	trimSourceRoot(ix.Funcs)
	n := len(ix.Funcs)
	ix.addSymbols(syms)
	ix.Stats.SymOnly = len(ix.Funcs) - n
	ix.finish()
	if len(ix.Funcs) == 0 {
		return nil, fmt.Errorf("%s: no functions in its DWARF, BTF or symbol table: %w", path, ErrNoSymbols)
	}
	return ix, nil
}

// kernelDirs are the top directories of a kernel tree.
var kernelDirs = []string{"/arch/", "/block/", "/certs/", "/crypto/", "/drivers/", "/fs/", "/include/", "/init/",
	"/io_uring/", "/ipc/", "/kernel/", "/lib/", "/mm/", "/net/", "/rust/", "/security/", "/sound/", "/virt/"}

// trimSourceRoot makes the absolute paths of an out-of-tree kernel build
// (make O=...) relative to the source tree, as kernel people write them
// ("fs/open.c"): the tree is the root most paths share before a kernel
// top directory.
func trimSourceRoot(funcs []Func) {
	votes := map[string]int{}
	for i := range funcs {
		u := funcs[i].Unit
		if !strings.HasPrefix(u, "/") {
			continue
		}
		for _, d := range kernelDirs {
			if k := strings.Index(u, d); k >= 0 {
				votes[u[:k+1]]++
				break
			}
		}
	}
	root, best := "", 0
	for r, n := range votes {
		if n > best || n == best && r < root {
			root, best = r, n
		}
	}
	if best*2 < len(funcs) {
		return // not a kernel tree, or most paths already relative
	}
	for i := range funcs {
		funcs[i].File = strings.TrimPrefix(funcs[i].File, root)
		funcs[i].Unit = strings.TrimPrefix(funcs[i].Unit, root)
	}
}

// FromSymbols makes a name-only index of System.map or kallsyms symbols,
// rebased by their _text (see LinkText).
func FromSymbols(syms Symbols) *Index {
	ix := &Index{Source: SourceSymbols, TextSymbols: true}
	if t := syms.Text(); t != 0 {
		ix.Rebase = t - LinkText
	}
	ix.addSymbols(syms)
	ix.Stats.SymOnly = len(ix.Funcs)
	ix.finish()
	return ix
}

// addSymbols adds, rebased, the symbols whose address no function with a
// signature starts at; where one does, an ELF symbol name different from
// the DWARF name (a clone such as foo.isra.0) becomes the function's
// name, since that is what kallsyms, System.map and layouts call it.
func (ix *Index) addSymbols(syms Symbols) {
	have := make(map[uint64]int, len(ix.Funcs))
	for i := range ix.Funcs {
		have[ix.Funcs[i].Low] = i
	}
	names := make([]string, 0, len(syms))
	for name := range syms {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic choice among aliases
	for _, name := range names {
		if name == "_text" {
			continue
		}
		for _, s := range syms[name] {
			addr := s.Addr - ix.Rebase
			if i, ok := have[addr]; ok {
				f := &ix.Funcs[i]
				if f.Name != name && !isPrefixName(f.Name, name) {
					if ix.Aliases == nil {
						ix.Aliases = map[string]uint64{}
					}
					ix.Aliases[name] = addr
				} else if f.Name != name {
					f.Name = name
				}
				if f.High == 0 && s.Size > 0 {
					f.High = addr + s.Size
				}
				continue
			}
			f := Func{Name: name, Low: addr, Static: s.Local, Unit: s.File, Ret: NoType}
			if s.Size > 0 {
				f.High = addr + s.Size
			}
			have[addr] = len(ix.Funcs)
			ix.Funcs = append(ix.Funcs, f)
		}
	}
}

// isPrefixName tells whether sym is base plus a compiler suffix
// (".isra.0", ".constprop.0", ".cold").
func isPrefixName(base, sym string) bool {
	return len(sym) > len(base) && sym[:len(base)] == base && sym[len(base)] == '.'
}

// buildID returns the hex GNU build id note of f, or "".
func buildID(f *elf.File) string {
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		if id := abi.NoteBuildID(data, f.ByteOrder); id != "" {
			return id
		}
	}
	return ""
}

// ReadBuildID returns the GNU build id of an ELF file, or of a raw notes
// blob such as /sys/kernel/notes.
func ReadBuildID(path string) (string, error) {
	if isELF, err := IsELF(path); err != nil {
		return "", err
	} else if isELF {
		f, err := elf.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		return buildID(f), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return abi.NoteBuildID(data, binary.LittleEndian), nil
}

// RandomPCs draws n addresses inside functions of known size.
// Symbol files (System.map, kallsyms) give no sizes: then there are none.
func RandomPCs(ix *Index, n int, seed uint64) ([]uint64, error) {
	var sized []*Func
	for i := range ix.Funcs {
		if f := &ix.Funcs[i]; f.High > f.Low {
			sized = append(sized, f)
		}
	}
	if len(sized) == 0 {
		return nil, fmt.Errorf("%s: no function of known size to draw addresses from (use a vmlinux)", ix.Path)
	}
	r := rand.New(rand.NewPCG(seed, 0))
	pcs := make([]uint64, n)
	for i := range pcs {
		f := sized[r.IntN(len(sized))]
		pcs[i] = f.Low + r.Uint64N(f.High-f.Low)
	}
	return pcs, nil
}
