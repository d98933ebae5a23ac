package main

import (
	"errors"
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/spf13/cobra"
)

// inputFlags are the flags every command that reads a trace shares.
type inputFlags struct {
	format  string
	layout  string
	symbols string
}

func (f *inputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.format, "format", "auto", "record layout: v1, v2, v3 or auto (from the trace file, else from the first header)")
	cmd.Flags().StringVar(&f.layout, "layout", "", "layout file (JSON Lines of field tables, as the compiler plugin dumps them) for exact v1 decoding")
	cmd.Flags().StringVar(&f.symbols, "symbols", "", "System.map or /proc/kallsyms, to give addresses to layout functions that have none")
}

// input is an opened trace with everything needed to decode it.
type input struct {
	trace   *abi.Trace
	fileErr error // damage found while reading; the good part is kept
	opt     abi.Options
	layout  *abi.Layout
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
		return nil, err
	}
	if format == abi.FormatAuto && !tr.Raw {
		format = tr.Meta.Format
	}
	in.opt = abi.Options{Format: format}
	if !tr.Raw {
		in.opt.BufferWords = tr.Meta.BufferWords
	}
	if f.layout == "" {
		return in, nil
	}
	table, layout, notes, err := f.table(&tr.Meta)
	in.notes = append(in.notes, notes...)
	if err != nil {
		return nil, err
	}
	in.opt.Table, in.layout = table, layout
	return in, nil
}

// linkTextStart is where x86-64 kernels link _text.
const linkTextStart = 0xffffffff81000000

// table loads the layout, gives its functions addresses from the symbols
// and moves them to the traced boot: by the trace's KASLR offset, unless
// the symbols are already that boot's (kallsyms), which their _text tells.
func (f *inputFlags) table(meta *abi.Meta) (*abi.Table, *abi.Layout, []string, error) {
	var notes []string
	l, err := abi.LoadLayout(f.layout)
	if err != nil {
		return nil, nil, nil, err
	}
	var symText uint64
	if f.symbols != "" {
		syms, err := abi.LoadSymbols(f.symbols)
		if err != nil {
			return nil, nil, nil, err
		}
		if t := syms["_text"]; len(t) == 1 {
			symText = t[0].Addr
		}
		bound, missing, ambiguous := l.Bind(syms)
		notes = append(notes, fmt.Sprintf("layout: %d addresses bound from %s", bound, f.symbols))
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("layout: %d functions not in %s (inlined away or not built)", len(missing), f.symbols))
		}
		if len(ambiguous) > 0 {
			notes = append(notes, fmt.Sprintf("layout: %d static names with different shapes cannot be told apart by name: %v", len(ambiguous), head(ambiguous, 5)))
		}
	}
	var slide uint64
	if meta != nil {
		s, known := meta.Slide()
		switch {
		case symText != 0 && known:
			slide = linkTextStart + s - symText
		case symText != 0 && symText != linkTextStart:
			notes = append(notes, "trace has no KASLR offset: assuming the symbols are from the traced boot")
		default:
			slide = s
		}
	}
	table, errs := abi.TableFromLayout(l, slide)
	for _, e := range head(errs, 5) {
		notes = append(notes, "layout: "+e.Error())
	}
	if table.Functions() == 0 {
		return nil, nil, notes, fmt.Errorf("layout %s gives no function an address: pass --symbols System.map (or kallsyms) of the traced kernel", f.layout)
	}
	return table, l, notes, nil
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}
