package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	var words int
	var kcov bool
	c := &cobra.Command{
		Use:   "trace [flags] -- CMD [ARGS...]",
		Short: "Trace CMD in the lab kernel and bring the trace back, decoded exactly",
		Long: `trace boots the lab kernel, runs "kcovdf record -- CMD" in the guest with
--dir (default: the current directory) as its working directory, and writes
the trace file to --output. It prints where the trace, the matching vmlinux
and the build's layout are, and checks that the trace decodes exactly with
them. --kcov records classic kcov's coverage of the same run beside it
("kcovdf record --kcov").`,
		Example: `  kcovdf lab trace -o cat.kdf -- cat /etc/passwd
  kcovdf show --symbols VMLINUX cat.kdf
  kcovdf lab trace --kcov -o cat.kdf -- cat /etc/passwd`,
		Args: argsCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
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
			src := &input{trace: tr, opt: abi.Options{Format: abi.FormatV1, Table: table, BufferWords: tr.Meta.BufferWords}}
			s, tasks, err := src.summary(path)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.ErrOrStderr(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "trace\t%s\nvmlinux\t%s\nlayout\t%s\n", path, m.Kernel.Vmlinux, m.Kernel.Layout)
			if tasks > 0 {
				fmt.Fprintf(w, "records\t%d of %d tasks (follow mode); command status %d\n", s.Records, tasks, res.ExitCode)
			} else {
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
			for _, n := range notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
			}
			if !s.Exact() || tasks > 0 && len(s.Anomalies) > 0 {
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
		Short: "Capture cost: syscall latency with nothing, classic kcov, kcov dataflow, and both on",
		Long: `bench boots the lab kernel once and times getpid, open+close, a 4 KiB read and
a struct-heavy path with "kcovdf latency" four times: nothing collecting,
classic kcov (KCOV_TRACE_PC), kcov dataflow, and both. It prints the medians,
their ratios to the untraced time, what each collects per call (kcov's PCs,
dataflow's words and records) and the cost of one recorded unit: dataflow's
extra time per word next to classic kcov's per PC, measured in the same guest.
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
			rows, err := run(f.instrument, lat+" --modes none,kcov,dataflow,both")
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
	// Collected per call.
	PCs     float64 `json:"pcs"`
	Words   float64 `json:"words"`
	Records float64 `json:"records"`
	// Extra ns per collected unit over the untraced call.
	NSPerPC   float64 `json:"ns_per_pc"`
	NSPerWord float64 `json:"ns_per_word"`
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
		if fg.PCs > 0 {
			fg.NSPerPC = float64(fg.Kcov-fg.None) / fg.PCs
		}
		if fg.Words > 0 {
			fg.NSPerWord = float64(fg.Dataflow-fg.None) / fg.Words
		}
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
		all.PCs += fg.PCs
		all.Words += fg.Words
		all.Records += fg.Records
	}
	if all.PCs > 0 {
		all.NSPerPC = float64(all.Kcov-all.None) / all.PCs
	}
	if all.Words > 0 {
		all.NSPerWord = float64(all.Dataflow-all.None) / all.Words
	}
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
	fmt.Fprint(tw, "none\tkcov\tdataflow\tboth\tkcov/none\tdataflow/none\tboth/none\t\n")
	for _, fg := range figs {
		fmt.Fprintf(tw, "%s\t", fg.Name)
		if withBase {
			fmt.Fprintf(tw, "%d ns\t", fg.Uninstrumented)
		}
		fmt.Fprintf(tw, "%d ns\t%d ns\t%d ns\t%d ns\t%s\t%s\t%s\t\n", fg.None, fg.Kcov, fg.Dataflow, fg.Both,
			ratio(fg.Kcov, fg.None), ratio(fg.Dataflow, fg.None), ratio(fg.Both, fg.None))
	}
	fmt.Fprint(tw, "\t\n")
	fmt.Fprint(tw, "syscall\tPCs/call\twords/call\trecords/call\tns/PC\tns/word\tword/PC\t\n")
	for _, fg := range figs {
		wpc := "-"
		if fg.WordPerPC() > 0 {
			wpc = fmt.Sprintf("%.1fx", fg.WordPerPC())
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", fg.Name, fg.PCs, fg.Words, fg.Records, fg.NSPerPC, fg.NSPerWord, wpc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "QEMU TCG: only the ratios mean anything. ns/PC and ns/word: the extra time per collected unit over the untraced call; word/PC: their ratio.")
	return err
}
