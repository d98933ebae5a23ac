package debuginfo

import (
	"debug/elf"
	"fmt"
	"slices"
)

// OpenModule indexes a kernel module (.ko) loaded at the given runtime
// section addresses (/sys/module/NAME/sections/*, which `record` stores
// in the trace). A .ko is relocatable: its symbols and DWARF give offsets
// into their sections, which sections places. The result's addresses are
// runtime addresses; Merge brings them into a kernel's Index.
func OpenModule(path string, sections map[string]uint64) (*Index, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type != elf.ET_REL {
		return nil, fmt.Errorf("%s: not a kernel module (ELF type %s)", path, f.Type)
	}
	list, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNoSymbols, err)
	}
	// DWARF functions by (name, offset in their section).
	type key struct {
		name string
		off  uint64
	}
	sigs := map[key]*Func{}
	var types []Type
	ix := &Index{Path: path, BuildID: buildID(f), Source: SourceELF}
	if f.Section(".debug_info") != nil {
		d, err := f.DWARF()
		if err != nil {
			return nil, fmt.Errorf("%s: DWARF: %w", path, err)
		}
		funcs, tt, units, _ := readDWARF(d, nil, 1, true)
		types = tt
		for i := range funcs {
			sigs[key{funcs[i].Name, funcs[i].Low}] = &funcs[i]
		}
		ix.Source, ix.Stats.Units = SourceDWARF, units
	}
	placed := 0
	for _, s := range list {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section == elf.SHN_UNDEF || int(s.Section) >= len(f.Sections) {
			continue
		}
		sec := f.Sections[s.Section].Name
		base, ok := sections[sec]
		if !ok {
			continue // a section the kernel freed (.init.text after load) or did not say
		}
		placed++
		fn := Func{Name: s.Name, Low: base + s.Value, Static: elf.ST_BIND(s.Info) == elf.STB_LOCAL, Ret: NoType}
		if s.Size > 0 {
			fn.High = fn.Low + s.Size
		}
		if sig := sigs[key{s.Name, s.Value}]; sig != nil {
			fn.File, fn.Line, fn.Unit = sig.File, sig.Line, sig.Unit
			fn.HasSig, fn.Params, fn.Ret = true, sig.Params, sig.Ret
		}
		ix.Funcs = append(ix.Funcs, fn)
	}
	if placed == 0 {
		return nil, fmt.Errorf("%s: none of its functions is in the sections given (%d of them)", path, len(sections))
	}
	ix.Types = types
	ix.finish()
	return ix, nil
}

// Merge adds a module's functions and types to ix. The module's runtime
// addresses become ix's addresses by removing the kernel's slide, so that
// Space.Link maps traced module pcs like the kernel's own.
func (ix *Index) Merge(mod *Index, slide uint64) {
	base := TypeID(len(ix.Types))
	shift := func(id TypeID) TypeID {
		if id < 0 {
			return id
		}
		return id + base
	}
	for _, t := range mod.Types {
		t.Elem = shift(t.Elem)
		t.Members = slices.Clone(t.Members)
		for i := range t.Members {
			t.Members[i].Type = shift(t.Members[i].Type)
		}
		ix.Types = append(ix.Types, t)
	}
	for _, f := range mod.Funcs {
		f.Low -= slide
		if f.High != 0 {
			f.High -= slide
		}
		f.Ret = shift(f.Ret)
		f.Params = slices.Clone(f.Params)
		for i := range f.Params {
			f.Params[i].Type = shift(f.Params[i].Type)
		}
		ix.Funcs = append(ix.Funcs, f)
	}
	ix.finish()
}
