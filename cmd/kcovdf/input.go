package main

import (
	"errors"
	"fmt"
	"github.com/kcovdf/kcovdf/redact"
	"os"
	"path/filepath"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/spf13/cobra"
)

// inputFlags are the flags every command that reads a trace shares.
type inputFlags struct {
	format  string
	layout  string
	symbols string
	btf     string
	modules string
	// fileErrs is the damage found in the files of a command that reads
	// several (loadTasks).
	fileErrs error
	// redact, when set, has loadTasks redact each trace with its own key.
	redact *redact.Secret
	// task is --task: loadTasks keeps only that task of a follow-mode
	// trace.
	task string
}

func (f *inputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.format, "format", "auto", "record format of the input: v1, v2, v3 or auto (from the trace file, else from the first header)")
	f.registerLayout(cmd)
}

// registerLayout adds --layout and --symbols alone, for commands that
// read no trace.
func (f *inputFlags) registerLayout(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.layout, "layout", "", "layout for exact v1 decoding: the traced kernel's vmlinux (its .kcovdf_layout records), or a JSON Lines dump of the compiler plugin")
	cmd.Flags().StringVar(&f.modules, "modules", "", "directory searched for the .ko files of the modules the trace lists (their pcs are named from them)")
	cmd.Flags().StringVar(&f.btf, "btf", "", "raw BTF of the traced kernel (/sys/kernel/btf/vmlinux) for types, with --symbols kallsyms or System.map for addresses")
	cmd.Flags().StringVar(&f.symbols, "symbols", "", symbolsUsage)
}

// input is an opened trace with everything needed to decode it.
type input struct {
	trace   *abi.Trace
	fileErr error // damage found while reading; the good part is kept
	opt     abi.Options
	names   *names
	notes   []string // what the user should know about the setup
}

func (f *inputFlags) open(path string) (*input, error) {
	in := &input{}
	tr, err := abi.LoadTrace(path)
	var ferr *abi.FileError
	switch {
	case errors.As(err, &ferr) && tr != nil:
		in.fileErr = err
	case err != nil:
		return nil, err
	}
	in.trace = tr
	format, err := abi.ParseFormat(f.format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	if format == abi.FormatAuto && !tr.Raw {
		format = tr.Meta.Format
	}
	in.opt = abi.Options{Format: format}
	if !tr.Raw {
		in.opt.BufferWords = tr.Meta.BufferWords
	}
	var meta *abi.Meta
	if !tr.Raw {
		meta = &tr.Meta
	}
	table, nm, notes, err := f.table(meta)
	in.notes = append(in.notes, notes...)
	if err != nil {
		return nil, err
	}
	in.opt.Table, in.names = table, nm
	return in, nil
}

// table opens the symbols (vmlinux, System.map or kallsyms), decides the
// trace's address space, and binds the layouts: the plugin's records
// first, then shapes derived from the vmlinux's debug info.
func (f *inputFlags) table(meta *abi.Meta) (*abi.Table, *names, []string, error) {
	var notes []string
	nm := &names{}
	if f.btf != "" && f.symbols == "" {
		return nil, nil, nil, fmt.Errorf("--btf gives types but no addresses: add --symbols /proc/kallsyms (of the traced boot) or System.map")
	}
	if f.symbols != "" {
		var ix *debuginfo.Index
		var err error
		if f.btf != "" {
			var syms debuginfo.Symbols
			if syms, err = debuginfo.LoadSymbols(f.symbols); err == nil {
				ix, err = debuginfo.OpenBTF(f.btf, syms)
			}
		} else {
			ix, err = debuginfo.Open(f.symbols, debuginfo.Options{})
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if err := debuginfo.CheckBuildID(meta, ix); err != nil {
			return nil, nil, nil, fmt.Errorf("%w (pass the vmlinux of the traced kernel)", err)
		}
		nm.ix = ix
	}
	nm.space = debuginfo.SpaceOf(meta, nm.ix)
	if nm.space.Note != "" && (f.symbols != "" || f.layout != "") {
		notes = append(notes, nm.space.Note)
	}
	if f.modules != "" && nm.ix != nil && meta != nil {
		notes = append(notes, addModules(nm, meta.Modules, f.modules)...)
	}
	var sources []debuginfo.LayoutSource
	// The field cap the kernel was built with, as its plugin layout shows
	// it: shapes derived from DWARF must be cut the same way.
	maxFields := 0
	capOf := func(l *abi.Layout) {
		if n, ok := l.Cap(); ok {
			maxFields = n
		} else {
			notes = append(notes, "layout: capped tables of different lengths (objects built with different -kcovdf-dataflow-max-fields); shapes derived from DWARF are not capped")
		}
	}
	if f.layout != "" {
		l, err := abi.LoadLayout(f.layout)
		if err != nil {
			return nil, nil, notes, err
		}
		capOf(l)
		sources = append(sources, debuginfo.PluginLayout{Layout: l, Label: f.layout})
	} else if isELF, _ := debuginfo.IsELF(f.symbols); isELF && f.btf == "" {
		// A vmlinux built with the plugin carries its layout records,
		// bound to addresses: they come before anything derived.
		l, err := abi.LoadLayout(f.symbols)
		switch {
		case err == nil:
			capOf(l)
			sources = append(sources, debuginfo.PluginLayout{Layout: l, Label: f.symbols + " " + abi.LayoutSection})
		case !errors.Is(err, abi.ErrNoLayoutSection):
			return nil, nil, notes, err
		}
	}
	if nm.ix != nil && (nm.ix.Source == debuginfo.SourceDWARF || nm.ix.Source == debuginfo.SourceBTF) {
		sources = append(sources, debuginfo.DWARFLayout{MaxFields: maxFields})
	}
	if len(sources) == 0 {
		return nil, nm, notes, nil
	}
	b, err := debuginfo.Layouts(nm.ix, sources...)
	if err != nil {
		return nil, nil, notes, err
	}
	nm.binding = b
	for _, s := range sources {
		notes = append(notes, fmt.Sprintf("layout: %d addresses from %s", b.Counts()[s.Name()], s.Name()))
	}
	if len(b.Missing) > 0 && f.symbols != "" {
		notes = append(notes, fmt.Sprintf("layout: %d functions not in %s (inlined away or not built)", len(b.Missing), f.symbols))
	}
	if len(b.Ambiguous) > 0 {
		notes = append(notes, fmt.Sprintf("layout: %d static names with different shapes cannot be told apart by name: %v", len(b.Ambiguous), head(b.Ambiguous, 5)))
	}
	table, errs := b.Table(nm.space)
	for _, e := range head(errs, 5) {
		notes = append(notes, "layout: "+e.Error())
	}
	if table.Functions() == 0 {
		var names []string
		for _, s := range sources {
			names = append(names, s.Name())
		}
		return nil, nil, notes, fmt.Errorf("layout %s gives no function an address: pass --symbols with the traced kernel's vmlinux, System.map or kallsyms", strings.Join(names, ", "))
	}
	return table, nm, notes, nil
}

// names is what the trace's pcs are named with.
type names struct {
	ix      *debuginfo.Index // nil without --symbols
	space   debuginfo.Space
	binding *debuginfo.Binding // nil without layouts
}

// name returns the function at a traced pc: from the symbols, else from
// the layout, else "".
func (n *names) name(pc uint64) string {
	if n == nil {
		return ""
	}
	addr := n.space.Link(pc)
	if n.ix != nil {
		if f := n.ix.At(addr); f != nil {
			return f.Name
		}
	}
	if n.binding != nil {
		if s := n.binding.Shape(addr); s != nil {
			return s.Func
		}
	}
	return ""
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// addModules merges the traced kernel's modules, found by name under dir,
// into the index.
func addModules(nm *names, mods []abi.Module, dir string) []string {
	if len(mods) == 0 {
		return []string{"--modules: the trace lists no loaded modules"}
	}
	kos := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".ko") {
			kos[strings.ReplaceAll(strings.TrimSuffix(d.Name(), ".ko"), "-", "_")] = p
		}
		return nil
	})
	var notes []string
	added := 0
	for _, m := range mods {
		ko := kos[strings.ReplaceAll(m.Name, "-", "_")]
		if ko == "" {
			notes = append(notes, fmt.Sprintf("module %s: no %s.ko under %s", m.Name, m.Name, dir))
			continue
		}
		mod, err := debuginfo.OpenModule(ko, m.SectionAddrs())
		if err != nil {
			notes = append(notes, fmt.Sprintf("module %s: %v", m.Name, err))
			continue
		}
		nm.ix.Merge(mod, nm.space.Slide)
		added++
	}
	return append(notes, fmt.Sprintf("modules: %d of %d named from their .ko files", added, len(mods)))
}

// traced is what one pass over a trace's records tells.
type traced struct {
	pcs map[uint64]bool // the functions traced
	// markers: the trace has no-parameter or void markers, so its call
	// trees are exact.
	markers bool
}

// scan decodes the trace once for its traced functions and markers.
func (in *input) scan() traced {
	s := traced{pcs: map[uint64]bool{}}
	d := abi.NewDecoder(in.trace.Words, in.opt)
	last := uint64(0)
	for d.Next() {
		r := d.Record()
		if r.PC != last || len(s.pcs) == 0 {
			s.pcs[r.PC], last = true, r.PC
		}
		if r.Size == 0 {
			s.markers = true
		}
	}
	return s
}
