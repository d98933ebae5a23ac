package main

import (
	"bufio"
	"fmt"
	"sort"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newLayoutCommand) }

func newLayoutCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "layout",
		Short: "Inspect layout files (the field tables that make v1 decoding exact)",
	}
	var symbols string
	lengths := &cobra.Command{
		Use:   "lengths [--symbols System.map] LAYOUT",
		Short: `Print the record length of every (pc, kind, arg) as "pc kind arg words" lines`,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := abi.LoadLayout(args[0])
			if err != nil {
				return err
			}
			var ix *debuginfo.Index
			if symbols != "" {
				if ix, err = debuginfo.Open(symbols, debuginfo.Options{}); err != nil {
					return err
				}
			}
			type row struct {
				pc        uint64
				kind      abi.Kind
				arg, size int
			}
			var rows []row
			for _, b := range debuginfo.Bind(l, ix).Funcs {
				fn := b.Shape
				for _, a := range fn.Args {
					rows = append(rows, row{b.Addr, abi.KindEntry, a.Idx, abi.RecordWords(len(a.Fields))})
				}
				if fn.Ret != nil {
					rows = append(rows, row{b.Addr, abi.KindReturn, 0, abi.RecordWords(len(fn.Ret.Fields))})
				}
			}
			sort.Slice(rows, func(i, j int) bool {
				a, b := rows[i], rows[j]
				if a.pc != b.pc {
					return a.pc < b.pc
				}
				if a.kind != b.kind {
					return a.kind < b.kind
				}
				return a.arg < b.arg
			})
			w := bufio.NewWriter(cmd.OutOrStdout())
			for _, r := range rows {
				fmt.Fprintf(w, "%#x %d %d %d\n", r.pc, r.kind, r.arg, r.size)
			}
			return w.Flush()
		},
	}
	lengths.Flags().StringVar(&symbols, "symbols", "", "vmlinux, System.map or kallsyms giving addresses to named functions")
	cmd.AddCommand(lengths)
	return cmd
}
