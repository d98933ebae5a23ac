package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newSymbolizeCommand) }

func newSymbolizeCommand() *cobra.Command {
	var symbols, cacheDir string
	var random int
	var seed uint64
	var stats, lines bool
	cmd := &cobra.Command{
		Use:   "symbolize [flags] [ADDR...]",
		Short: "Name kernel addresses (from the arguments, or one a line on standard input)",
		Long: `symbolize prints, for each link-time address, the function containing it,
the offset into it and where that function is declared:

  0xffffffff8112cefc __filemap_add_folio+0x6c mm/filemap.c:842

--lines prints the address's own line instead, from the DWARF line table (that
of the innermost inlined callee, as addr2line and llvm-symbolizer print it);
it reads the table of each compile unit an address falls in.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if symbols == "" {
				return usageError(cmd, "--symbols is required (a vmlinux, System.map or kallsyms)")
			}
			t0 := time.Now()
			ix, err := debuginfo.Open(symbols, debuginfo.Options{CacheDir: cacheDir})
			if err != nil {
				return err
			}
			built := time.Since(t0)
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
			defer out.Flush()
			// The index keeps addresses relative to the link-time _text;
			// the addresses read and printed are the file's own (a
			// vmlinux's link addresses, a kallsyms' runtime ones).
			if random > 0 {
				pcs, err := debuginfo.RandomPCs(ix, random, seed)
				if err != nil {
					return err
				}
				for _, pc := range pcs {
					fmt.Fprintf(out, "%#x\n", pc+ix.Rebase)
				}
				return nil
			}
			var pcs []uint64
			add := func(s string) error {
				s = strings.TrimSpace(s)
				if s == "" {
					return nil
				}
				v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
				if err != nil {
					return fmt.Errorf("%q is not a hex address", s)
				}
				pcs = append(pcs, v)
				return nil
			}
			for _, a := range args {
				if err := add(a); err != nil {
					return err
				}
			}
			if len(args) == 0 {
				sc := bufio.NewScanner(cmd.InOrStdin())
				for sc.Scan() {
					if err := add(sc.Text()); err != nil {
						return err
					}
				}
				if err := sc.Err(); err != nil && err != io.EOF {
					return err
				}
			}
			t1 := time.Now()
			funcs := make([]*debuginfo.Func, len(pcs))
			for i, pc := range pcs {
				funcs[i] = ix.Lookup(pc - ix.Rebase)
			}
			lookups := time.Since(t1)
			var lt *debuginfo.Lines
			if lines {
				if lt, err = debuginfo.OpenLines(symbols); err != nil {
					return fmt.Errorf("--lines: %w", err)
				}
				defer lt.Close()
			}
			named := 0
			for i, pc := range pcs {
				f := funcs[i]
				if f == nil {
					fmt.Fprintf(out, "%#x ??\n", pc)
					continue
				}
				named++
				fmt.Fprintf(out, "%#x %s+%#x", pc, f.Name, pc-ix.Rebase-f.Low)
				switch {
				case lt != nil:
					if file, line, ok := lt.At(pc); ok {
						fmt.Fprintf(out, " %s:%d", file, line)
					} else {
						out.WriteString(" ??:0")
					}
				case f.File != "":
					fmt.Fprintf(out, " %s:%d", f.File, f.Line)
				}
				out.WriteByte('\n')
			}
			if stats {
				how := "built"
				if ix.Stats.Cached {
					how = "loaded from the cache"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "index: %d functions (%s) %s in %v; %d lookups in %v (%d named)\n",
					len(ix.Funcs), ix.Source, how, built.Round(time.Microsecond), len(pcs), lookups.Round(time.Microsecond), named)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&symbols, "symbols", "", "vmlinux (DWARF, BTF or symbol table), System.map or kallsyms")
	f.StringVar(&cacheDir, "cache-dir", "", `index cache directory ("-": none; default: the user cache directory)`)
	f.IntVar(&random, "random", 0, "print this many random addresses inside functions, and nothing else")
	f.Uint64Var(&seed, "seed", 1, "seed of --random")
	f.BoolVar(&stats, "stats", false, "print the index build and lookup times to standard error")
	f.BoolVar(&lines, "lines", false, "print each address's own source line (DWARF line table) instead of its function's declaration")
	// For comparing symbolizers and measuring the index, not for users.
	f.MarkHidden("random")
	f.MarkHidden("seed")
	f.MarkHidden("stats")
	return cmd
}
