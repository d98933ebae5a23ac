//go:build linux

package main

import (
	"fmt"
	"time"

	"github.com/kcovdf/kcovdf/conformance"
	"github.com/kcovdf/kcovdf/device"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newConformanceCommand) }

func newConformanceCommand() *cobra.Command {
	var path, layout, symbols string
	var useModel bool
	var stress time.Duration
	var threads, words int
	cmd := &cobra.Command{
		Use:   "conformance [--device PATH | --model]",
		Short: "Check a kcov dataflow device against the specification (TAP output)",
		Long: `conformance runs one table of cases — every errno, size and mmap rule, two
files and two tasks, isolation, fork, exit, close from another task, overflow,
reset, re-enable, and classic kcov alongside — against the real device or the
model. Both must pass the same table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var tg conformance.Target = &conformance.Device{Path: path}
			if useModel {
				tg = conformance.NewModel()
			}
			var opt conformance.Options
			if layout != "" {
				fl := inputFlags{layout: layout, symbols: symbols}
				t, _, notes, err := fl.table(nil)
				for _, n := range notes {
					fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
				}
				if err != nil {
					return err
				}
				opt.Table = t
			}
			w := cmd.OutOrStdout()
			if stress > 0 {
				res, err := conformance.Stress(tg, threads, stress, words, opt)
				for i, r := range res {
					fmt.Fprintf(w, "thread %d: %d work units, %d records in %d words, %d dropped\n", i, r.Calls, r.Records, r.Words, r.Dropped)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "stress: %d threads for %v: every buffer gap-free, drops only when full\n", threads, stress)
				return nil
			}
			start := time.Now()
			res, err := conformance.Run(tg, opt)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "TAP version 13\n1..%d\n", len(res))
			failed := 0
			for i, r := range res {
				switch {
				case r.Skipped != "":
					fmt.Fprintf(w, "ok %d - %s # SKIP %s\n", i+1, r.Case.Name, r.Skipped)
				case r.Err != nil:
					failed++
					fmt.Fprintf(w, "not ok %d - %s (%s)\n#   %v\n", i+1, r.Case.Name, r.Case.Spec, r.Err)
				default:
					fmt.Fprintf(w, "ok %d - %s\n", i+1, r.Case.Name)
				}
			}
			fmt.Fprintf(w, "# %s: %d passed, %d failed in %v\n", tg.Name(), len(res)-failed, failed, time.Since(start).Round(time.Millisecond))
			if failed > 0 {
				return fmt.Errorf("%d of %d conformance cases failed on %s", failed, len(res), tg.Name())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "device", device.DefaultPath, "device to check")
	cmd.Flags().BoolVar(&useModel, "model", false, "check the executable model instead")
	cmd.Flags().StringVar(&layout, "layout", "", "layout of the running kernel, to check records exactly")
	cmd.Flags().DurationVar(&stress, "stress", 0, "instead of the table: hammer syscalls for this long on --threads threads, each with its own buffer")
	cmd.Flags().IntVar(&threads, "threads", 8, "threads of a --stress run")
	cmd.Flags().IntVar(&words, "words", 1<<16, "buffer size of each --stress thread")
	cmd.Flags().StringVar(&symbols, "symbols", "/proc/kallsyms", "addresses for the layout's functions")
	return cmd
}
