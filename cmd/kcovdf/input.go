package main

import (
	"errors"
	"fmt"
	"os"

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
		if ff, err := abi.ParseFormat(tr.Meta.Format); err == nil {
			format = ff
		}
	}
	in.opt = abi.Options{Format: format}
	if !tr.Raw {
		in.opt.BufferWords = tr.Meta.BufferWords
	}
	if f.layout == "" {
		return in, nil
	}
	l, err := abi.LoadLayout(f.layout)
	if err != nil {
		return nil, err
	}
	in.layout = l
	if f.symbols != "" {
		sf, err := os.Open(f.symbols)
		if err != nil {
			return nil, err
		}
		syms, err := abi.ReadSymbols(sf, f.symbols)
		sf.Close()
		if err != nil {
			return nil, err
		}
		bound, missing, ambiguous := l.Bind(syms)
		in.notes = append(in.notes, fmt.Sprintf("layout: %d addresses bound from %s", bound, f.symbols))
		if len(missing) > 0 {
			in.notes = append(in.notes, fmt.Sprintf("layout: %d functions not in %s (inlined away or not built)", len(missing), f.symbols))
		}
		if len(ambiguous) > 0 {
			in.notes = append(in.notes, fmt.Sprintf("layout: %d static names with different shapes cannot be told apart by name: %v", len(ambiguous), head(ambiguous, 5)))
		}
	}
	// Layout addresses are link-time; the trace's pcs carry the boot's
	// KASLR offset.
	slide, known := tr.Meta.Slide()
	if !known && !tr.Raw && tr.Meta.KASLROffset == "" && f.symbols != "" {
		in.notes = append(in.notes, "trace has no KASLR offset: assuming the symbols match the traced boot")
	}
	table, errs := abi.TableFromLayout(l, slide)
	for _, e := range head(errs, 5) {
		in.notes = append(in.notes, "layout: "+e.Error())
	}
	if table.Functions() == 0 {
		return nil, fmt.Errorf("layout %s gives no function an address: pass --symbols System.map (or kallsyms) of the traced kernel", f.layout)
	}
	in.opt.Table = table
	return in, nil
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}
