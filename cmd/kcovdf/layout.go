package main

import (
	"bufio"
	"encoding/json"
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
		Short: "Inspect layouts (a JSON Lines dump, or a vmlinux's .kcovdf_layout records): the field tables that make v1 decoding exact",
		Args:  argsSubcommand,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var symbols string
	var asJSON bool
	lengths := &cobra.Command{
		Use:   "lengths [flags] LAYOUT",
		Short: `Print the record length of every (pc, kind, arg) as "pc kind arg words" lines`,
		Args:  argsExactly("LAYOUT"),
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
				pc                uint64
				kind              abi.Kind
				arg, size, capped int
			}
			var rows []row
			for _, b := range debuginfo.Bind(l, ix).Funcs {
				fn := b.Shape
				for _, a := range fn.Args {
					rows = append(rows, row{b.Addr, abi.KindEntry, a.Idx, abi.RecordWords(len(a.Fields)), a.Capped})
				}
				if fn.Ret != nil {
					rows = append(rows, row{b.Addr, abi.KindReturn, 0, abi.RecordWords(len(fn.Ret.Fields)), fn.Ret.Capped})
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
			enc := json.NewEncoder(w)
			for _, r := range rows {
				if asJSON {
					if err := enc.Encode(lengthJSON{fmt.Sprintf("%#x", r.pc), r.kind.String(), r.arg, r.size, r.capped}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(w, "%#x %d %d %d\n", r.pc, r.kind, r.arg, r.size)
			}
			err = w.Flush()
			if n, ok := l.Cap(); !ok || n > 0 {
				// On stderr, so that the lines stay "pc kind arg words".
				fmt.Fprintf(cmd.ErrOrStderr(), "%s\n", capNote(l))
			}
			return err
		},
	}
	lengths.Flags().StringVar(&symbols, "symbols", "", symbolsUsage)
	lengths.Flags().BoolVar(&asJSON, "json", false, "one JSON object a line")
	cmd.AddCommand(lengths)
	return cmd
}

// lengthJSON is a line of "layout lengths --json".
type lengthJSON struct {
	PC    string `json:"pc"`
	Kind  string `json:"kind"`
	Arg   int    `json:"arg"`
	Words int    `json:"words"`
	// Capped: the struct's count of fields when the record holds only
	// the first of them (-kcovdf-dataflow-max-fields).
	Capped int `json:"capped,omitempty"`
}

// capNote says how a layout's struct expansions were capped.
func capNote(l *abi.Layout) string {
	n, ok := l.Cap()
	count := 0
	for i := range l.Funcs {
		for _, a := range l.Funcs[i].Args {
			count += min(a.Capped, 1)
		}
		if r := l.Funcs[i].Ret; r != nil {
			count += min(r.Capped, 1)
		}
	}
	if !ok {
		return fmt.Sprintf("layout: %d struct expansions capped, at different numbers of fields", count)
	}
	return fmt.Sprintf("layout: %d struct expansions capped at %d fields (-kcovdf-dataflow-max-fields=%d)", count, n, n)
}
