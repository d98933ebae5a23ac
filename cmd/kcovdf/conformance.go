//go:build linux

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/kcovdf/kcovdf/conformance"
	"github.com/kcovdf/kcovdf/device"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newConformanceCommand) }

func newConformanceCommand() *cobra.Command {
	var path string
	var in inputFlags
	var useModel bool
	var stress time.Duration
	var threads, forks, words int
	var follow bool
	cmd := &cobra.Command{
		Use:   "conformance [flags]",
		Short: "Check a kcov dataflow device against the specification (TAP output)",
		Long: `conformance runs one table of cases — every errno, size and mmap rule, two
files and two tasks, isolation, fork, exit, close from another task, overflow,
reset, re-enable, classic kcov alongside, and the follow mode's trees — against
the real device or the model. Both must pass the same table. On the device the
tasks are processes and threads of the helper kcovdf-treetask (on PATH, beside
kcovdf, or $KCOVDF_TREETASK), which forks, starts threads and execs on
command; without it the follow cases skip.`,
		Args: argsExactly(),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tg conformance.Target = &conformance.Device{Path: path}
			if useModel {
				tg = conformance.NewModel()
			}
			var opt conformance.Options
			if in.layout != "" {
				t, _, notes, err := in.table(nil)
				for _, n := range notes {
					fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
				}
				if err != nil {
					return err
				}
				opt.Table = t
			}
			w := cmd.OutOrStdout()
			if follow && stress == 0 {
				return usageError(cmd, "--follow goes with --stress")
			}
			if stress > 0 && follow {
				return stressFollow(w, tg, threads, forks, stress, words, opt)
			}
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
			failed, skipped := 0, 0
			for i, r := range res {
				switch {
				case r.Skipped != "":
					skipped++
					fmt.Fprintf(w, "ok %d - %s # SKIP %s\n", i+1, r.Case.Name, r.Skipped)
				case r.Err != nil:
					failed++
					fmt.Fprintf(w, "not ok %d - %s (%s)\n#   %v\n", i+1, r.Case.Name, r.Case.Spec, r.Err)
				default:
					fmt.Fprintf(w, "ok %d - %s\n", i+1, r.Case.Name)
				}
			}
			fmt.Fprintf(w, "# %s: %d passed, %d failed, %d skipped in %v\n", tg.Name(), len(res)-failed-skipped, failed, skipped, time.Since(start).Round(time.Millisecond))
			if failed > 0 {
				return fmt.Errorf("%d of %d conformance cases failed on %s", failed, len(res), tg.Name())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "device", device.DefaultPath, deviceUsage+" to check")
	cmd.Flags().BoolVar(&useModel, "model", false, "check the executable model instead")
	in.registerLayout(cmd)
	cmd.Flags().DurationVar(&stress, "stress", 0, "instead of the table: hammer syscalls for this long on --threads threads, each with its own buffer")
	cmd.Flags().IntVar(&threads, "threads", 8, "threads of a --stress run")
	// Small on purpose: a stress run must fill its buffers to check drops.
	cmd.Flags().IntVar(&words, "stress-words", 1<<16, "buffer size in words of each --stress thread")
	cmd.Flags().BoolVar(&follow, "follow", false, "with --stress: one tree in follow mode, the root, --threads threads and --forks processes of it sharing one buffer of --stress-words per task")
	cmd.Flags().IntVar(&forks, "forks", 3, "processes the root forks in a --stress --follow run")
	return cmd
}

// stressFollow runs the follow-mode stress and prints a line per task.
func stressFollow(w io.Writer, tg conformance.Target, threads, forks int, d time.Duration, words int, opt conformance.Options) error {
	// The root, the threads, the processes and a thread of the first.
	tasks := 1 + threads + forks
	if forks > 0 {
		tasks++
	}
	// Whole pages, or the buffer cannot be mapped.
	const pageWords = 512
	total := (tasks*words + pageWords - 1) / pageWords * pageWords
	res, err := conformance.StressFollow(tg, threads, forks, d, total, opt)
	if why, ok := conformance.Skipped(err); ok {
		fmt.Fprintf(w, "stress --follow: SKIP %s\n", why)
		return nil
	}
	if res != nil {
		for _, r := range res.Tasks {
			fmt.Fprintf(w, "task %d (%s): %d work units, %d records in %d chunks, %d dropped\n", r.Tid, r.Kind, r.Calls, r.Records, r.Chunks, r.Dropped)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "stress --follow: %d tasks of one tree for %v on %d words, %d of %d chunks taken, %d dropped (GET_DROPPED), %d of them in the chunks: every stream exact\n",
		len(res.Tasks), d, total, res.Carved, res.Slots, res.Dropped, res.ChunkDropped)
	return nil
}
