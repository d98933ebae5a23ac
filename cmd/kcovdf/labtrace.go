package main

import (
	"bytes"
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
	c := &cobra.Command{
		Use:   "trace [flags] -- CMD [ARGS...]",
		Short: "Trace CMD in the lab kernel and bring the trace back, decoded exactly",
		Long: `trace boots the lab kernel, runs "kcovdf record -- CMD" in the guest with
--dir (default: the current directory) as its working directory, and writes
the trace file to --output. It prints where the trace, the matching vmlinux
and the build's layout are, and checks that the trace decodes exactly with
them.`,
		Example: `  kcovdf lab trace -o cat.kdf -- cat /etc/passwd
  kcovdf show --symbols VMLINUX cat.kdf`,
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
			guest := append([]string{"kcovdf", "record", "-o", lab.GuestCtlDir + "/" + guestTrace,
				"--words", fmt.Sprint(words), "--"}, args...)
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
			d := abi.NewDecoder(tr.Words, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: tr.Meta.BufferWords})
			for d.Next() {
			}
			s := d.Summary()
			w := tabwriter.NewWriter(cmd.ErrOrStderr(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "trace\t%s\nvmlinux\t%s\nlayout\t%s\n", path, m.Kernel.Vmlinux, m.Kernel.Layout)
			fmt.Fprintf(w, "records\t%d in %d words, %d unattributed; command status %d\n", s.Records, s.Count, s.Unattributed, res.ExitCode)
			if in.symbols != "" {
				fmt.Fprintf(w, "show\tkcovdf show --layout %s --symbols %s %s\n", in.layout, in.symbols, path)
			} else {
				fmt.Fprintf(w, "show\tkcovdf show --symbols %s %s\n", m.Kernel.Vmlinux, path)
			}
			w.Flush()
			for _, n := range notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
			}
			if !s.Exact() {
				printAnomalies(cmd.ErrOrStderr(), s, 10)
			}
			if res.ExitCode != 0 {
				return exitCodeError{res.ExitCode}
			}
			return nil
		},
	}
	f.addMachineFlags(c, 10*time.Minute)
	f.addDirFlag(c, "host directory shared as the guest's working directory (default: current directory)")
	c.Flags().StringVarP(&output, "output", "o", "trace.kdf", "trace file to write")
	c.Flags().IntVar(&words, "words", defaultWords, wordsUsage)
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
	c := &cobra.Command{
		Use:   "bench",
		Short: "Syscall latency: uninstrumented kernel, instrumented with tracing off, and on",
		Long: `bench boots an uninstrumented build and the instrumented build (one boot
each), times getpid, open+close and a 4 KiB read with "kcovdf latency", on the
instrumented kernel also with tracing on, and prints the medians and ratios.
Under TCG every instruction is emulated: only the ratios mean anything, and
even they overstate the callbacks' cost.`,
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
				if err := res.Check(); err != nil {
					return nil, err
				}
				if res.ExitCode != 0 {
					return nil, fmt.Errorf("lab bench: latency on the %s kernel exited with %d", instrument, res.ExitCode)
				}
				rows, err := device.ParseLatency(&stdout)
				if err != nil {
					return nil, fmt.Errorf("lab bench: %s kernel: %w", instrument, err)
				}
				return rows, nil
			}
			base, err := run("none", "kcovdf latency --json")
			if err != nil {
				return err
			}
			inst, err := run(f.instrument, "kcovdf latency --json && kcovdf latency --json --trace")
			if err != nil {
				return err
			}
			return printBench(cmd.OutOrStdout(), base, inst)
		},
	}
	f.addMachineFlags(c, 15*time.Minute)
	return c
}

func printBench(w io.Writer, base, inst []device.Latency) error {
	find := func(rows []device.Latency, name string, traced bool) int64 {
		for _, r := range rows {
			if r.Name == name && r.Traced == traced {
				return r.NS
			}
		}
		return 0
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "syscall\tuninstrumented\tinstrumented, off\tinstrumented, on\toff/base\ton/base\t\n")
	for _, r := range base {
		off, on := find(inst, r.Name, false), find(inst, r.Name, true)
		if r.NS == 0 || off == 0 || on == 0 {
			return fmt.Errorf("lab bench: %s missing from a run", r.Name)
		}
		fmt.Fprintf(tw, "%s\t%d ns\t%d ns\t%d ns\t%.2fx\t%.1fx\t\n", r.Name, r.NS, off, on, float64(off)/float64(r.NS), float64(on)/float64(r.NS))
	}
	fmt.Fprintln(tw, "(QEMU TCG: only the ratios mean anything)\t\t\t\t\t\t")
	return tw.Flush()
}
