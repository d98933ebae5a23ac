package debuginfo

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/kcovdf/kcovdf/abi"
)

// Bound is a function's shape at an Index address.
type Bound struct {
	Addr  uint64
	Shape *abi.FuncShape
	// Source names the layout source the shape came from.
	Source string
}

// Binding is the set of shapes a trace's records are decoded with.
type Binding struct {
	Funcs []Bound
	// Missing are layout functions no address was found for (inlined
	// away, not built); Ambiguous are static names whose shapes differ
	// and whose addresses could not be told apart by file.
	Missing, Ambiguous []string
	bySrc              map[string]int
}

// Counts tells how many addresses each source gave.
func (b *Binding) Counts() map[string]int { return b.bySrc }

// Bind gives every function of l its addresses: its own "pc" when it has
// one (a link-time address), else the Index functions of its name.
// Static functions that share a name are matched by source file when the
// index knows it; otherwise they bind only when all their shapes give the
// same record lengths, and are reported as ambiguous when not.
func Bind(l *abi.Layout, ix *Index) *Binding {
	b := &Binding{}
	if ix == nil {
		ix = &Index{}
		ix.index()
	}
	byName := map[string][]int{}
	var names []string
	for i := range l.Funcs {
		f := &l.Funcs[i]
		if pc, ok, _ := f.Addr(); ok {
			// A layout's pc is a link-time address of the image; the
			// index keeps addresses relative to LinkText.
			if !ix.TextSymbols {
				pc -= ix.Rebase
			}
			b.Funcs = append(b.Funcs, Bound{Addr: pc, Shape: f})
			continue
		}
		if _, seen := byName[f.Func]; !seen {
			names = append(names, f.Func)
		}
		byName[f.Func] = append(byName[f.Func], i)
	}
	for _, name := range names {
		idx := byName[name]
		cands := ix.ByName(name)
		if len(cands) == 0 {
			b.Missing = append(b.Missing, name)
			continue
		}
		agree := true
		for _, i := range idx[1:] {
			agree = agree && sameLengths(&l.Funcs[idx[0]], &l.Funcs[i])
		}
		if agree {
			// A static function of another file that the layout does not
			// list (not instrumented) must not take this shape.
			for _, c := range cands {
				if c.Static && c.Unit != "" && !anyFile(l, idx, c.Unit) {
					continue
				}
				b.Funcs = append(b.Funcs, Bound{Addr: c.Low, Shape: &l.Funcs[idx[0]]})
			}
			continue
		}
		// Shapes differ: each address needs its own shape, by file. A
		// static of a file the layout does not list was not instrumented
		// (the kernel's many type_show of other directories) and takes
		// none.
		unmatched := false
		for _, c := range cands {
			if c.Static && c.Unit != "" && !anyFile(l, idx, c.Unit) {
				continue
			}
			fn := -1
			base := filepath.Base(c.Unit)
			for _, i := range idx {
				if c.Unit != "" && filepath.Base(l.Funcs[i].File) == base {
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
			b.Funcs = append(b.Funcs, Bound{Addr: c.Low, Shape: &l.Funcs[fn]})
		}
		if unmatched {
			b.Ambiguous = append(b.Ambiguous, name)
		}
	}
	sort.Strings(b.Missing)
	sort.Strings(b.Ambiguous)
	sort.SliceStable(b.Funcs, func(i, j int) bool { return b.Funcs[i].Addr < b.Funcs[j].Addr })
	return b
}

// sameLengths tells whether two shapes give every record the same length,
// which is all a decoder needs from them.
func sameLengths(a, b *abi.FuncShape) bool {
	if len(a.Args) != len(b.Args) || (a.Ret == nil) != (b.Ret == nil) {
		return false
	}
	for i := range a.Args {
		if a.Args[i].Idx != b.Args[i].Idx || abi.RecordWords(len(a.Args[i].Fields)) != abi.RecordWords(len(b.Args[i].Fields)) {
			return false
		}
	}
	return a.Ret == nil || abi.RecordWords(len(a.Ret.Fields)) == abi.RecordWords(len(b.Ret.Fields))
}

// Shape returns the shape bound at an Index address, or nil.
func (b *Binding) Shape(addr uint64) *abi.FuncShape {
	i := sort.Search(len(b.Funcs), func(i int) bool { return b.Funcs[i].Addr >= addr })
	if i < len(b.Funcs) && b.Funcs[i].Addr == addr {
		return b.Funcs[i].Shape
	}
	return nil
}

// Table builds the decoder's length table at the traced boot's addresses.
// Conflicting shapes at one address are returned as errors and the
// conflicting entries left unknown.
func (b *Binding) Table(sp Space) (*abi.Table, []error) {
	t := abi.NewTable(len(b.Funcs))
	var errs []error
	for _, f := range b.Funcs {
		pc := sp.Runtime(f.Addr)
		for _, a := range f.Shape.Args {
			if err := t.Set(pc, abi.KindEntry, uint8(a.Idx), abi.RecordWords(len(a.Fields))); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", f.Shape.Func, err))
			}
		}
		if f.Shape.Ret != nil {
			if err := t.Set(pc, abi.KindReturn, 0, abi.RecordWords(len(f.Shape.Ret.Fields))); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", f.Shape.Func, err))
			}
		}
	}
	return t, errs
}

// A LayoutSource gives function shapes at Index addresses: the compiler
// plugin's own records, or shapes derived from DWARF.
type LayoutSource interface {
	Name() string
	Bind(ix *Index) (*Binding, error)
}

// PluginLayout is a layout the compiler plugin recorded (a layout file
// or section), bound by name where it has no pcs.
type PluginLayout struct {
	Layout *abi.Layout
	Label  string
}

func (p PluginLayout) Name() string { return p.Label }

func (p PluginLayout) Bind(ix *Index) (*Binding, error) {
	return Bind(p.Layout, ix), nil
}

// Layouts merges sources in order: an address takes its shape from the
// first source that has one. The result is sorted by address.
func Layouts(ix *Index, sources ...LayoutSource) (*Binding, error) {
	out := &Binding{bySrc: map[string]int{}}
	seen := map[uint64]bool{}
	missing := map[string]bool{}
	for _, s := range sources {
		b, err := s.Bind(ix)
		if err != nil {
			return nil, fmt.Errorf("layout %s: %w", s.Name(), err)
		}
		for _, f := range b.Funcs {
			if seen[f.Addr] {
				continue
			}
			seen[f.Addr] = true
			f.Source = s.Name()
			out.Funcs = append(out.Funcs, f)
			out.bySrc[s.Name()]++
		}
		for _, m := range b.Missing {
			missing[m] = true
		}
		out.Ambiguous = append(out.Ambiguous, b.Ambiguous...)
	}
	for m := range missing {
		out.Missing = append(out.Missing, m)
	}
	sort.Strings(out.Missing)
	sort.Slice(out.Funcs, func(i, j int) bool { return out.Funcs[i].Addr < out.Funcs[j].Addr })
	return out, nil
}

// anyFile tells whether one of the shapes idx names file (by base name);
// shapes without a file match any.
func anyFile(l *abi.Layout, idx []int, file string) bool {
	base := filepath.Base(file)
	for _, i := range idx {
		if l.Funcs[i].File == "" || filepath.Base(l.Funcs[i].File) == base {
			return true
		}
	}
	return false
}
