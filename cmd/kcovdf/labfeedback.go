package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/lab"
	"github.com/spf13/cobra"
)

func newLabFeedbackCommand() *cobra.Command {
	f := &labFlags{}
	var asJSON bool
	var runs int
	c := &cobra.Command{
		Use:   "feedback",
		Short: "Measure in the lab which feedback tells value-only differences apart: classic kcov or dataflow",
		Long: `feedback boots the lab kernel once and runs "kcovdf feedback" in the guest: a
fixed set of pairs of syscall sequences that differ only in a value, each run
on one thread with classic kcov and kcov dataflow both on. It prints, per
pair, whether kcov's PCs, kcov's edges and dataflow's value signal tell the
two apart and how many new features each side adds, then a sum per class.
The records are decoded exactly with the build's layout.`,
		Args: argsExactly(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			l, m, err := f.machine(ctx)
			if err != nil {
				return err
			}
			// The guest reads the layout from its working directory.
			dir, err := os.MkdirTemp("", "kcovdf-feedback-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			layout, err := guestLayout(m.Kernel.Vmlinux, m.Kernel.Layout)
			if err != nil {
				return fmt.Errorf("lab feedback: the kernel's layout: %w", err)
			}
			if err := os.WriteFile(filepath.Join(dir, "layout.jsonl"), layout, 0o644); err != nil {
				return err
			}
			var stdout bytes.Buffer
			args := []string{"kcovdf", "feedback", "--json", "--runs", fmt.Sprint(runs), "--layout", "layout.jsonl", "--symbols", "/proc/kallsyms"}
			res, err := l.Run(ctx, m, lab.RunOptions{Args: args, Dir: dir, Stdout: &stdout, Stderr: cmd.ErrOrStderr(), Timeout: f.timeout, SerialLog: f.serial})
			if err != nil {
				return err
			}
			if err := res.Check(); err != nil {
				return err
			}
			if res.ExitCode != 0 {
				return fmt.Errorf("lab feedback: kcovdf feedback exited with %d in the guest", res.ExitCode)
			}
			rows, err := readFeedbackJSON(&stdout)
			if err != nil {
				return fmt.Errorf("lab feedback: %w", err)
			}
			if len(rows) == 0 {
				return fmt.Errorf("lab feedback: the guest printed no pair")
			}
			if asJSON {
				return writeFeedbackJSON(cmd.OutOrStdout(), rows)
			}
			return printFeedback(cmd.OutOrStdout(), rows, runs)
		},
	}
	f.addMachineFlags(c, 20*time.Minute)
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per pair")
	c.Flags().IntVar(&runs, "runs", 3, "measured runs of each sequence (after one to warm up)")
	return c
}

// guestLayout is the layout a guest-side decoder gets: the vmlinux's own
// .kcovdf_layout records, each bound to its function's address (so static
// functions that share a name, such as the kernel's type_show, decode
// exactly), or the build's layout.jsonl when the vmlinux has none.
func guestLayout(vmlinux, jsonl string) ([]byte, error) {
	if f, err := os.Open(vmlinux); err == nil {
		defer f.Close()
		if l, err := abi.ReadLayoutELF(f, vmlinux); err == nil && len(l.Funcs) > 0 {
			var b bytes.Buffer
			if err := l.Write(&b); err != nil {
				return nil, err
			}
			return b.Bytes(), nil
		}
	}
	return os.ReadFile(jsonl)
}
