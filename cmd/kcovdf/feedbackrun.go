//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/device"
	"github.com/kcovdf/kcovdf/signal"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newFeedbackCommand) }

func newFeedbackCommand() *cobra.Command {
	var in inputFlags
	var asJSON bool
	var runs, words int
	var path, kcovPath string
	cmd := &cobra.Command{
		Use:   "feedback [flags]",
		Short: "Which feedback tells apart syscall sequences that differ only in a value: classic kcov or dataflow",
		Long: `feedback runs a fixed set of pairs of syscall sequences that differ only in a
value (open flags, sizes, offsets, file names, errno paths, fd numbers) on
one thread with classic kcov (KCOV_TRACE_PC) and kcov dataflow both on, and
prints for each pair whether kcov's PCs, kcov's edges (prev>>1 ^ cur) and
dataflow's value signal (the signal package) tell the two apart, and how
many new features each side adds to a corpus holding the other.

Each sequence runs once to warm the caches, then --runs times, A and B in
turns; a feature counts only when all runs of one side have it and no run
of the other does. kcov's PCs in the no-fault reads of dataflow's own
callbacks are left out: a kcov-only run would not have them. Each run is
also made with classic kcov alone, as a check that having dataflow on changes
nothing kcov tells apart.

Records are decoded exactly with --layout (the build's layout.jsonl) and
--symbols /proc/kallsyms; without them, by re-synchronising.
"kcovdf lab feedback" runs it in the lab and prints the table.`,
		Args: argsExactly(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runs < 1 {
				return usageError(cmd, fmt.Sprintf("--runs %d: want at least 1", runs))
			}
			d, err := device.Open(path)
			if err != nil {
				return err
			}
			defer d.Close()
			sizing, err := d.Setup(words)
			if err != nil {
				return err
			}
			k, err := device.OpenKcov(kcovPath, words)
			if err != nil {
				return err
			}
			defer k.Close()
			meta := device.CaptureMeta(d.Path(), sizing.Words, 0)
			table, _, notes, err := in.table(&meta)
			if err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
			}
			slide, _ := meta.Slide()
			skip, err := captureRanges(slide)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "note: the PCs of dataflow's own reads are kept:", err)
			}
			fx, err := device.NewFixture(os.TempDir())
			if err != nil {
				return err
			}
			defer fx.Close()
			tr := device.Tracers{Dataflow: d, Kcov: k}
			opt := abi.Options{Format: abi.FormatV1, Table: table, BufferWords: sizing.Words}
			var rows []feedbackRow
			for _, p := range device.Pairs() {
				row, err := measurePair(tr, fx, p, runs, opt, slide, skip)
				if err != nil {
					return fmt.Errorf("feedback: %v: %w", p, err)
				}
				rows = append(rows, row)
			}
			if asJSON {
				return writeFeedbackJSON(cmd.OutOrStdout(), rows)
			}
			return printFeedback(cmd.OutOrStdout(), rows, runs)
		},
	}
	in.registerLayout(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per pair")
	cmd.Flags().IntVar(&runs, "runs", 3, "measured runs of each sequence (after one to warm up)")
	cmd.Flags().IntVar(&words, "words", defaultWords, wordsUsage+"; classic kcov gets as many")
	cmd.Flags().StringVar(&path, "device", device.DefaultPath, deviceUsage)
	cmd.Flags().StringVar(&kcovPath, "kcov-device", device.KcovPath, "classic kcov's file")
	return cmd
}

// measurePair runs p's sequences and compares their features.
func measurePair(tr device.Tracers, fx *device.Fixture, p device.Pair, runs int, opt abi.Options, slide uint64, skip func(uint64) bool) (feedbackRow, error) {
	row := feedbackRow{Pair: p.Name, Class: p.Class}
	var pcs, edges, df, rets, alone [2][][]uint64
	kcovOnly := device.Tracers{Kcov: tr.Kcov}
	for r := -1; r < runs; r++ {
		for side, fn := range []func(*device.Fixture){p.A, p.B} {
			// Once with classic kcov alone, to check that having dataflow
			// on changes nothing kcov tells apart.
			k, err := kcovOnly.Collect(func() { fn(fx) })
			if err != nil {
				return row, err
			}
			c, err := tr.Collect(func() { fn(fx) })
			if err != nil {
				return row, err
			}
			if r < 0 {
				continue // warming up
			}
			set, _ := pcFeatures(k.PCs, nil)
			alone[side] = append(alone[side], set)
			row.Full = row.Full || c.Full
			set, e := pcFeatures(c.PCs, skip)
			pcs[side] = append(pcs[side], set)
			edges[side] = append(edges[side], e)
			all, ret := dataflowFeatures(c.Words, opt, slide)
			df[side] = append(df[side], all)
			rets[side] = append(rets[side], ret)
		}
	}
	row.PCs = compareRuns(pcs[0], pcs[1])
	row.Edges = compareRuns(edges[0], edges[1])
	row.Dataflow = compareRuns(df[0], df[1])
	row.Returns = compareRuns(rets[0], rets[1])
	row.PCsAlone = compareRuns(alone[0], alone[1])
	return row, nil
}

// dataflowFeatures is the value signal of one run's records, sorted, all
// of it and that of return values alone.
func dataflowFeatures(words []uint64, opt abi.Options, slide uint64) (all, rets []uint64) {
	e := signal.NewExtractor(signal.Options{Slide: slide})
	d := abi.NewDecoder(words, opt)
	for d.Next() {
		e.Add(d.Record())
	}
	fs := e.Signal().Features()
	all = make([]uint64, len(fs))
	for i, f := range fs {
		all[i] = uint64(f)
		if f.Slot().Ret() {
			rets = append(rets, uint64(f))
		}
	}
	slices.Sort(all)
	slices.Sort(rets)
	return all, rets
}

// captureRanges finds captureFuncs in /proc/kallsyms and returns a test
// for kcov PCs inside them (link-time addresses: slide is taken off the
// runtime ones kallsyms gives).
func captureRanges(slide uint64) (func(uint64) bool, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type sym struct {
		addr uint64
		name string
	}
	var text []sym
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 || (fs[1] != "t" && fs[1] != "T") || len(fs) > 3 {
			continue // data, and module symbols ("[mod]")
		}
		a, err := strconv.ParseUint(fs[0], 16, 64)
		if err != nil || a == 0 {
			continue
		}
		text = append(text, sym{a - slide, fs[2]})
	}
	slices.SortFunc(text, func(a, b sym) int {
		if a.addr < b.addr {
			return -1
		}
		if a.addr > b.addr {
			return 1
		}
		return 0
	})
	var lo, hi []uint64
	for i, s := range text {
		if captureFuncs[s.name] && i+1 < len(text) {
			lo, hi = append(lo, s.addr), append(hi, text[i+1].addr)
		}
	}
	if len(lo) == 0 {
		return nil, fmt.Errorf("none of %d text symbols of /proc/kallsyms is a no-fault read", len(text))
	}
	return func(pc uint64) bool {
		for i := range lo {
			if pc >= lo[i] && pc < hi[i] {
				return true
			}
		}
		return false
	}, nil
}
