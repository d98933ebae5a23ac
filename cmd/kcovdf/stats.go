package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newStatsCommand) }

func newStatsCommand() *cobra.Command {
	var in inputFlags
	var top int
	var asJSON bool
	var task string
	cmd := &cobra.Command{
		Use:   "stats [flags] FILE",
		Short: "Summarise a trace: records by kind and function, buffer fill, anomalies",
		Args:  argsExactly("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := in.open(args[0])
			if err != nil {
				return err
			}
			defer src.trace.Close()
			fl, err := src.follow(args[0], task)
			if err != nil {
				return err
			}
			if fl != nil {
				return followStats(cmd, args[0], src, fl, top, asJSON)
			}
			byPC := map[uint64]*fnStat{}
			d := abi.NewDecoder(src.trace.Words, src.opt)
			var last *fnStat // a function's records come in runs
			for d.Next() {
				r := d.Record()
				s := last
				if s == nil || s.pc != r.PC {
					if s = byPC[r.PC]; s == nil {
						s = &fnStat{pc: r.PC}
						byPC[r.PC] = s
					}
					last = s
				}
				if r.Kind == abi.KindReturn {
					s.ret++
				} else {
					s.entry++
				}
				s.words += r.Words()
			}
			sum := d.Summary()
			pcs := map[uint64]bool{}
			for pc := range byPC {
				pcs[pc] = true
			}
			warning, _ := src.names.check(pcs)
			var ks *kcovStats
			if k := src.trace.Meta.Kcov; k != nil {
				var tree *calls.Tree
				if src.names != nil && src.names.ix != nil {
					tree = calls.Build(src.trace.Words, abi.NewDecoder(src.trace.Words, src.opt), calls.Options{Full: src.trace.Meta.Overflowed})
				}
				var cov *calls.Coverage
				if tree != nil {
					cov = src.alignKcov(tree)
				}
				ks = kcovSummary(src.trace.KcovPCs, k.Count, src.names, tree, cov)
			}
			stats := make([]*fnStat, 0, len(byPC))
			for _, s := range byPC {
				stats = append(stats, s)
			}
			slices.SortFunc(stats, func(a, b *fnStat) int {
				return cmp.Or(cmp.Compare(b.entry+b.ret, a.entry+a.ret), cmp.Compare(a.pc, b.pc))
			})
			// What goes to standard error after either form of output.
			notes := func() error {
				printSetup(cmd.ErrOrStderr(), src)
				if warning != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", warning)
				}
				printAnomalies(cmd.ErrOrStderr(), sum, 10)
				return src.fileErr
			}
			if asJSON {
				if err := writeStatsJSON(cmd.OutOrStdout(), args[0], src, sum, stats, ks, top); err != nil {
					return err
				}
				return notes()
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			m := src.trace.Meta
			fmt.Fprintf(w, "file\t%s\n", args[0])
			fmt.Fprintf(w, "format\t%s\n", sum.Format)
			if m.KernelRelease != "" {
				fmt.Fprintf(w, "kernel\t%s\n", m.KernelRelease)
			}
			if len(m.Command) > 0 {
				fmt.Fprintf(w, "command\t%q\n", m.Command)
			}
			if src.trace.Raw {
				fmt.Fprintf(w, "source\traw area dump (no metadata)\n")
			}
			fill := "unknown buffer size"
			if sum.BufferWords > 0 {
				fill = fmt.Sprintf("%.1f%% of %d words", 100*float64(sum.Count)/float64(sum.BufferWords-1), sum.BufferWords)
			}
			fmt.Fprintf(w, "fill\t%d words (%s)\n", sum.Count, fill)
			if m.Dropped != nil {
				fmt.Fprintf(w, "dropped\t%d records (kernel drop counter)\n", *m.Dropped)
			}
			fmt.Fprintf(w, "records\t%d (entry %d, return %d, compare %d)\n", sum.Records, sum.ByKind[abi.KindEntry], sum.ByKind[abi.KindReturn], sum.ByKind[abi.KindCompare])
			fmt.Fprintf(w, "functions\t%d\n", len(byPC))
			fmt.Fprintf(w, "unattributed\t%d words, about %d records\n", sum.Unattributed, sum.LostRecords)
			exact := "yes"
			if !sum.Exact() {
				exact = "no"
			}
			fmt.Fprintf(w, "exact\t%s\n", exact)
			for k := range sum.AnomalyCounts {
				if n := sum.AnomalyCounts[k]; n > 0 {
					fmt.Fprintf(w, "anomaly %s\t%d\n", abi.AnomalyKind(k), n)
				}
			}
			if ks != nil {
				ks.printHead(w)
			}
			fmt.Fprintln(w)
			printFnTable(w, stats, top, src.names)
			if ks != nil {
				ks.printTable(w, top)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return notes()
		},
	}
	in.register(cmd)
	cmd.Flags().IntVar(&top, "top", 20, "functions to list")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object")
	registerTask(cmd, &task)
	return cmd
}

// fnStat counts the records of one function.
type fnStat struct {
	pc         uint64
	entry, ret int
	words      int
}

// printFnTable prints the functions' table, the top of stats.
func printFnTable(w io.Writer, stats []*fnStat, top int, nm *names) {
	fmt.Fprintf(w, "pc\tfunction\tentry\treturn\twords\n")
	for i, s := range stats {
		if i == top {
			fmt.Fprintf(w, "...\t%d more\t\t\t\n", len(stats)-top)
			break
		}
		fmt.Fprintf(w, "%#x\t%s\t%d\t%d\t%d\n", s.pc, cmp.Or(nm.name(s.pc), "?"), s.entry, s.ret, s.words)
	}
}
