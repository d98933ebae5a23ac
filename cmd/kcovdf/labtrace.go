package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/device"
	"github.com/kcovdf/kcovdf/internal/lab"
	"github.com/spf13/cobra"
)

// lab trace and lab bench: recording in the lab, from the host.

func newLabTraceCommand() *cobra.Command {
	f := &labFlags{}
	var output string
	var words, chunkWords int
	var kcov, follow bool
	c := &cobra.Command{
		Use:   "trace [flags] -- CMD [ARGS...]",
		Short: "Trace CMD in the lab kernel and bring the trace back, decoded exactly",
		Long: `trace boots the lab kernel, runs "kcovdf record -- CMD" in the guest with
--dir (default: the current directory) as its working directory, and writes
the trace file to --output. It prints where the trace, the matching vmlinux
and the build's layout are, and checks that the trace decodes exactly with
them. --kcov records classic kcov's coverage of the same run beside it
("kcovdf record --kcov"). --follow traces CMD's whole process tree
("kcovdf record --follow"), and sums up each task's stream.`,
		Example: `  kcovdf lab trace -o cat.kdf -- cat /etc/passwd
  kcovdf show --symbols VMLINUX cat.kdf
  kcovdf lab trace --kcov -o cat.kdf -- cat /etc/passwd
  kcovdf lab trace --follow -o pipe.kdf -- sh -c 'cat /etc/passwd | wc -l'`,
		Args: argsCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("chunk-words") && !follow {
				return usageError(cmd, "--chunk-words sizes the chunks of --follow: give both or neither")
			}
			if follow && kcov {
				return usageError(cmd, "--kcov traces one thread and cannot follow a process tree: give --follow or --kcov")
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			dir, err := f.workDir()
			if err != nil {
				return err
			}
			path, err := filepath.Abs(output)
			if err != nil {
				return err
			}
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				return fmt.Errorf("lab trace: --output %s is a directory; give the trace file's path", output)
			}
			l, m, err := f.machine(ctx)
			if err != nil {
				return err
			}
			// The guest writes the trace to the control share, so that the
			// output may be anywhere on the host, shared or not.
			guest := []string{"kcovdf", "record", "-o", lab.GuestCtlDir + "/" + guestTrace, "--words", fmt.Sprint(words)}
			if kcov {
				guest = append(guest, "--kcov")
			}
			if follow {
				guest = append(guest, "--follow", "--chunk-words", fmt.Sprint(chunkWords))
			}
			guest = append(append(guest, "--"), args...)
			res, err := l.Run(ctx, m, lab.RunOptions{Args: guest, Dir: dir, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(), Timeout: f.timeout, SerialLog: f.serial})
			if err != nil {
				return err
			}
			if err := res.Check(); err != nil {
				return err
			}
			if err := moveFile(res.CtlFile(guestTrace), path); err != nil {
				return fmt.Errorf("lab trace: the guest left no trace (command status %d): %w", res.ExitCode, err)
			}
			tr, err := abi.LoadTrace(path)
			if err != nil {
				return fmt.Errorf("lab trace: the guest left no readable trace (command status %d): %w", res.ExitCode, err)
			}
			// The vmlinux binds every layout to its function's address;
			// kernels built before the plugin did are bound by name.
			in := inputFlags{layout: m.Kernel.Vmlinux}
			if _, err := abi.LoadLayout(m.Kernel.Vmlinux); errors.Is(err, abi.ErrNoLayoutSection) {
				in = inputFlags{layout: m.Kernel.Layout, symbols: m.Kernel.Vmlinux}
			}
			table, _, notes, err := in.table(&tr.Meta)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.ErrOrStderr(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "trace\t%s\nvmlinux\t%s\nlayout\t%s\n", path, m.Kernel.Vmlinux, m.Kernel.Layout)
			var s *abi.Summary
			var ft *abi.FollowTrace
			if tr.Meta.Follow != nil {
				if ft, err = decodeFollowTrace(tr, abi.Options{Table: table}); err != nil {
					return fmt.Errorf("lab trace: %s: %w", path, err)
				}
				fmt.Fprintf(w, "command status\t%d\n", res.ExitCode)
			} else {
				d := abi.NewDecoder(tr.Words, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: tr.Meta.BufferWords})
				for d.Next() {
				}
				s = d.Summary()
				fmt.Fprintf(w, "records\t%d in %d words, %d unattributed; command status %d\n", s.Records, s.Count, s.Unattributed, res.ExitCode)
			}
			if k := tr.Meta.Kcov; k != nil {
				fmt.Fprintf(w, "kcov\t%d PCs (classic kcov, same thread)\n", len(tr.KcovPCs))
			}
			if in.symbols != "" {
				fmt.Fprintf(w, "show\tkcovdf show --layout %s --symbols %s %s\n", in.layout, in.symbols, path)
			} else {
				fmt.Fprintf(w, "show\tkcovdf show --symbols %s %s\n", m.Kernel.Vmlinux, path)
			}
			w.Flush()
			if ft != nil {
				if err := writeFollowRecorded(cmd.ErrOrStderr(), "records: ", ft, tr.Meta); err != nil {
					return err
				}
			}
			for _, n := range notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
			}
			if ft != nil && len(ft.Anomalies) > 0 {
				printAnomalies(cmd.ErrOrStderr(), followAnomalies(ft), 10)
			}
			if s != nil && !s.Exact() {
				printAnomalies(cmd.ErrOrStderr(), s, 10)
			}
			// The trace of a failing command is kept and summed up above.
			return guestDone(res, "")
		},
	}
	f.addMachineFlags(c, 10*time.Minute)
	f.addDirFlag(c, "host directory shared as the guest's working directory (default: current directory)")
	c.Flags().StringVarP(&output, "output", "o", "trace.kdf", "trace file to write")
	c.Flags().IntVar(&words, "words", defaultWords, wordsUsage)
	c.Flags().BoolVar(&kcov, "kcov", false, "also record classic kcov's coverage (KCOV_TRACE_PC) of the same thread")
	c.Flags().BoolVar(&follow, "follow", false, "trace CMD's whole process tree: every thread and process it creates, each into chunks of its own (KCOV_DF_ENABLE_FOLLOW)")
	c.Flags().IntVar(&chunkWords, "chunk-words", abi.FollowDefaultChunk, "with --follow: words per chunk, a power of two from 64, smaller than --words")
	return c
}

// guestTrace is the trace's name in the guest's control directory.
const guestTrace = "trace.kdf"

// moveFile renames from to to, copying when they are on different file
// systems.
func moveFile(from, to string) error {
	err := os.Rename(from, to)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(to)
		return err
	}
	return os.Remove(from)
}

func newLabBenchCommand() *cobra.Command {
	f := &labFlags{}
	var baseline, asJSON bool
	var calls, rounds int
	c := &cobra.Command{
		Use:   "bench",
		Short: "Capture cost: syscall latency with nothing, classic kcov, kcov dataflow, both, and follow mode on",
		Long: `bench boots the lab kernel once and times getpid, open+close, a 4 KiB read and
a struct-heavy path with "kcovdf latency" in five modes: nothing collecting,
classic kcov (KCOV_TRACE_PC), kcov dataflow, both, and kcov dataflow in
follow mode (KCOV_DF_ENABLE_FOLLOW, when the kernel has it). It prints the
medians, their ratios to the untraced time, what each collects per call
(kcov's PCs, dataflow's words and records) and the cost of one recorded
unit: dataflow's extra time per word, in follow mode too, next to classic
kcov's per PC, measured in the same guest.
With --baseline it also boots the uninstrumented kernel (--instrument none),
to show what the callbacks cost when nothing is enabled.
Under TCG every instruction is emulated: only ratios mean anything.`,
		Args: argsExactly(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			run := func(instrument string, script string) ([]device.Latency, error) {
				g := *f
				g.instrument = instrument
				l, m, err := g.machine(ctx)
				if err != nil {
					return nil, err
				}
				var stdout bytes.Buffer
				res, err := l.Run(ctx, m, lab.RunOptions{Args: []string{"sh", "-c", script}, Stdout: &stdout, Stderr: cmd.ErrOrStderr(), Timeout: f.timeout})
				if err != nil {
					return nil, err
				}
				if err := guestDone(res, "lab bench: latency on the "+instrument+" kernel"); err != nil {
					return nil, err
				}
				rows, err := device.ParseLatency(&stdout)
				if err != nil {
					return nil, fmt.Errorf("lab bench: %s kernel: %w", instrument, err)
				}
				return rows, nil
			}
			lat := fmt.Sprintf("kcovdf latency --json --calls %d --rounds %d", calls, rounds)
			// Follow mode only where the kernel has it: a probe of one
			// call decides. Any other failure of the probe is the bench's.
			probe := `modes=none,kcov,dataflow,both,follow
if ! err=$(kcovdf latency --json --calls 1 --rounds 1 --modes follow 2>&1 >/dev/null); then
	case "$err" in
	*"no follow mode"*) echo "lab bench: this kernel has no follow mode, left out" >&2; modes=none,kcov,dataflow,both ;;
	*) echo "$err" >&2; exit 1 ;;
	esac
fi
`
			rows, err := run(f.instrument, probe+lat+" --modes $modes")
			if err != nil {
				return err
			}
			var base []device.Latency
			if baseline {
				if base, err = run("none", lat); err != nil {
					return err
				}
			}
			figs, err := benchFigures(rows, base)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				for _, fg := range figs {
					if err := enc.Encode(fg); err != nil {
						return err
					}
				}
				return nil
			}
			return printBench(cmd.OutOrStdout(), figs)
		},
	}
	f.addMachineFlags(c, 20*time.Minute)
	c.Flags().BoolVar(&baseline, "baseline", false, "also boot the uninstrumented kernel (one more kernel build when it is not cached)")
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per syscall")
	c.Flags().IntVar(&calls, "calls", defaultCalls, callsUsage+" (passed to latency)")
	c.Flags().IntVar(&rounds, "rounds", defaultRounds, roundsUsage+" (passed to latency)")
	return c
}

// benchFigure is one syscall's line of lab bench.
type benchFigure struct {
	Name string `json:"name"`
	// Median ns per call: uninstrumented kernel (0 without --baseline),
	// and on the instrumented one with nothing, classic kcov, kcov
	// dataflow and both collecting.
	Uninstrumented int64 `json:"uninstrumented_ns,omitempty"`
	None           int64 `json:"none_ns"`
	Kcov           int64 `json:"kcov_ns"`
	Dataflow       int64 `json:"dataflow_ns"`
	Both           int64 `json:"both_ns"`
	// Follow: kcov dataflow in follow mode; 0 when the kernel has none.
	Follow int64 `json:"follow_ns,omitempty"`
	// Collected per call.
	PCs     float64 `json:"pcs"`
	Words   float64 `json:"words"`
	Records float64 `json:"records"`
	// In follow mode: the chunks' record words (headers left out).
	FollowWords   float64 `json:"follow_words,omitempty"`
	FollowRecords float64 `json:"follow_records,omitempty"`
	// Extra ns per collected unit over the untraced call.
	NSPerPC         float64 `json:"ns_per_pc"`
	NSPerWord       float64 `json:"ns_per_word"`
	NSPerFollowWord float64 `json:"ns_per_follow_word,omitempty"`
}

// FollowPerWord is follow mode's cost per word over single-task
// dataflow's (v1).
func (b benchFigure) FollowPerWord() float64 {
	if b.NSPerWord <= 0 || b.NSPerFollowWord <= 0 {
		return 0
	}
	return b.NSPerFollowWord / b.NSPerWord
}

// perUnit sets the extra ns per collected unit from the times and counts.
func (b *benchFigure) perUnit() {
	if b.PCs > 0 {
		b.NSPerPC = float64(b.Kcov-b.None) / b.PCs
	}
	if b.Words > 0 {
		b.NSPerWord = float64(b.Dataflow-b.None) / b.Words
	}
	if b.FollowWords > 0 {
		b.NSPerFollowWord = float64(b.Follow-b.None) / b.FollowWords
	}
}

// WordPerPC is dataflow's cost per word over classic kcov's per PC.
func (b benchFigure) WordPerPC() float64 {
	if b.NSPerPC <= 0 {
		return 0
	}
	return b.NSPerWord / b.NSPerPC
}

// benchFigures pairs the four modes of each syscall in rows (and the
// uninstrumented kernel's time from base, if any).
func benchFigures(rows, base []device.Latency) ([]benchFigure, error) {
	find := func(rows []device.Latency, name, mode string) (device.Latency, bool) {
		for _, r := range rows {
			if r.Name == name && r.Collector() == mode {
				return r, true
			}
		}
		return device.Latency{}, false
	}
	withFollow := slices.ContainsFunc(rows, func(r device.Latency) bool { return r.Collector() == "follow" })
	var out []benchFigure
	for _, r := range rows {
		if r.Collector() != "none" {
			continue
		}
		fg := benchFigure{Name: r.Name, None: r.NS}
		k, ok1 := find(rows, r.Name, "kcov")
		d, ok2 := find(rows, r.Name, "dataflow")
		b, ok3 := find(rows, r.Name, "both")
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("lab bench: %s: a mode is missing (have none %v, kcov %v, dataflow %v, both %v)", r.Name, true, ok1, ok2, ok3)
		}
		fg.Kcov, fg.Dataflow, fg.Both = k.NS, d.NS, b.NS
		fg.PCs, fg.Words, fg.Records = k.PCs, d.Words, d.Records
		if fo, ok := find(rows, r.Name, "follow"); ok {
			fg.Follow, fg.FollowWords, fg.FollowRecords = fo.NS, fo.Words, fo.Records
		} else if withFollow {
			return nil, fmt.Errorf("lab bench: %s: no follow-mode measurement, though other syscalls have one", r.Name)
		}
		fg.perUnit()
		if base != nil {
			u, ok := find(base, r.Name, "none")
			if !ok {
				return nil, fmt.Errorf("lab bench: %s missing from the uninstrumented kernel's run", r.Name)
			}
			fg.Uninstrumented = u.NS
		}
		out = append(out, fg)
	}
	if len(out) == 0 {
		return nil, errors.New("lab bench: no untraced measurements")
	}
	// The sum of all: the per-unit costs of the syscalls with the most
	// units, where a few ns per PC stand out of the noise.
	all := benchFigure{Name: "all"}
	for _, fg := range out {
		all.Uninstrumented += fg.Uninstrumented
		all.None += fg.None
		all.Kcov += fg.Kcov
		all.Dataflow += fg.Dataflow
		all.Both += fg.Both
		all.Follow += fg.Follow
		all.PCs += fg.PCs
		all.Words += fg.Words
		all.Records += fg.Records
		all.FollowWords += fg.FollowWords
		all.FollowRecords += fg.FollowRecords
	}
	all.perUnit()
	return append(out, all), nil
}

func printBench(w io.Writer, figs []benchFigure) error {
	ratio := func(a, b int64) string { return fmt.Sprintf("%.1fx", float64(a)/float64(b)) }
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	withBase := figs[0].Uninstrumented > 0
	if withBase {
		fmt.Fprint(tw, "syscall\tuninstrumented\t")
	} else {
		fmt.Fprint(tw, "syscall\t")
	}
	withFollow := figs[0].Follow > 0
	fmt.Fprint(tw, "none\tkcov\tdataflow\tboth\t")
	if withFollow {
		fmt.Fprint(tw, "follow\t")
	}
	fmt.Fprint(tw, "kcov/none\tdataflow/none\tboth/none\t")
	if withFollow {
		fmt.Fprint(tw, "follow/none\t")
	}
	fmt.Fprint(tw, "\n")
	for _, fg := range figs {
		fmt.Fprintf(tw, "%s\t", fg.Name)
		if withBase {
			fmt.Fprintf(tw, "%d ns\t", fg.Uninstrumented)
		}
		fmt.Fprintf(tw, "%d ns\t%d ns\t%d ns\t%d ns\t", fg.None, fg.Kcov, fg.Dataflow, fg.Both)
		if withFollow {
			fmt.Fprintf(tw, "%d ns\t", fg.Follow)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t", ratio(fg.Kcov, fg.None), ratio(fg.Dataflow, fg.None), ratio(fg.Both, fg.None))
		if withFollow {
			fmt.Fprintf(tw, "%s\t", ratio(fg.Follow, fg.None))
		}
		fmt.Fprint(tw, "\n")
	}
	fmt.Fprint(tw, "\t\n")
	fmt.Fprint(tw, "syscall\tPCs/call\twords/call\trecords/call\tns/PC\tns/word\tword/PC\t")
	if withFollow {
		fmt.Fprint(tw, "follow words/call\tns/follow word\tfollow/v1 per word\t")
	}
	fmt.Fprint(tw, "\n")
	times := func(x float64, format string) string {
		if x <= 0 {
			return "-"
		}
		return fmt.Sprintf(format, x)
	}
	for _, fg := range figs {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t", fg.Name, fg.PCs, fg.Words, fg.Records, fg.NSPerPC, fg.NSPerWord, times(fg.WordPerPC(), "%.1fx"))
		if withFollow {
			fmt.Fprintf(tw, "%.1f\t%.1f\t%s\t", fg.FollowWords, fg.NSPerFollowWord, times(fg.FollowPerWord(), "%.2fx"))
		}
		fmt.Fprint(tw, "\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	note := "QEMU TCG: only the ratios mean anything. ns/PC and ns/word: the extra time per collected unit over the untraced call; word/PC: their ratio."
	if withFollow {
		note += " follow: kcov dataflow in follow mode on the same thread; its words are the chunks' record words; follow/v1 per word: its ns/word over dataflow's."
	}
	_, err := fmt.Fprintln(w, note)
	return err
}
