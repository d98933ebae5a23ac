//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/device"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newRecordCommand) }

func newRecordCommand() *cobra.Command {
	var out, path, kcovPath string
	var words, kcovWords, chunkWords int
	var kcov, follow bool
	cmd := &cobra.Command{
		Use:   "record [flags] -- CMD [ARGS...]",
		Short: "Trace a command from its first instruction into a trace file",
		Long: `record allocates a buffer on /sys/kernel/debug/kcov_dataflow, enables it on
one thread and execs CMD on that same thread, so that every instrumented
kernel function CMD reaches is recorded from its first instruction on. When
CMD ends, the buffer goes to a trace file with the kernel release, the KASLR
offset, the buffer's fill and the drop counter. kcovdf exits with CMD's status.
With --kcov, classic kcov (KCOV_TRACE_PC) is enabled on the same thread just
before dataflow, and its PCs of the same run go into the trace file too;
"kcovdf stats" and "kcovdf show --pcs" read them beside the records.
With --follow, CMD's whole process tree is traced (docs/follow.md): every
thread and process it creates, transitively, across execve, each into chunks
of --chunk-words words of its own; kcovdf waits for every process of the
tree (it is their child subreaper meanwhile, so orphans come back to it),
and an interrupt kills what is left of the tree and keeps the trace.
"kcovdf stats" and "kcovdf show" then print each task's stream.`,
		Example: `  kcovdf record -o cat.kdf -- cat /etc/passwd
  kcovdf record --kcov -o cat.kdf -- cat /etc/passwd
  kcovdf record --follow -o pipe.kdf -- sh -c 'cat /etc/passwd | wc -l'
  kcovdf lab run -- kcovdf record -o cat.kdf -- cat /etc/passwd`,
		Args: argsCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("chunk-words") && !follow {
				return usageError(cmd, "--chunk-words sizes the chunks of --follow: give both or neither")
			}
			if follow && kcov {
				return usageError(cmd, "--kcov traces one thread and cannot follow a process tree: give --follow or --kcov")
			}
			ctx := cmd.Context()
			if follow {
				// Ctrl-C reaches the whole tree; kcovdf outlives it to
				// kill what is left and keep the trace.
				var cancel func()
				ctx, cancel = signalContext(ctx)
				defer cancel()
			}
			stderr := cmd.ErrOrStderr()
			rec, err := device.Record(ctx, device.RecordOptions{Path: path, Words: words, Argv: args,
				Kcov: kcov, KcovPath: kcovPath, KcovWords: kcovWords,
				Follow: follow, ChunkWords: chunkWords, Notes: stderr,
				Stdin: os.Stdin, Stdout: cmd.OutOrStdout(), Stderr: stderr})
			if errors.Is(err, device.ErrNotSupported) && follow {
				return fmt.Errorf("%w; drop --follow to trace CMD's first task alone", err)
			}
			if err != nil {
				return err
			}
			if err := abi.SaveTrace(out, rec.Trace); err != nil {
				return err
			}
			m := rec.Trace.Meta
			if rec.Sizing.Reason != device.SizeAsRequested {
				fmt.Fprintln(stderr, "note: buffer of", rec.Sizing)
			}
			if rec.NoDropCounter {
				fmt.Fprintln(stderr, "note: this kernel has no drop counter (KCOV_DF_GET_DROPPED): overflow is judged from the free space left")
			}
			if !m.KASLROffset.Known {
				fmt.Fprintln(stderr, "note: KASLR offset unknown (/proc/kallsyms hides addresses): symbolize against this boot's kallsyms")
			}
			if len(rec.Killed) > 0 {
				var pids []string
				for _, p := range rec.Killed {
					pids = append(pids, fmt.Sprint(p))
				}
				fmt.Fprintf(stderr, "note: interrupted: killed %d processes of the tree that were still running (pids %s); their streams end there\n", len(rec.Killed), strings.Join(pids, ", "))
			}
			if follow {
				// Found without a layout: "kcovdf stats --symbols
				// VMLINUX" decodes every record exactly.
				ft, err := decodeFollowTrace(rec.Trace, abi.Options{})
				if err != nil {
					return err
				}
				if err := writeFollowRecorded(stderr, "kcovdf record: "+out+": ", ft, m); err != nil {
					return err
				}
			} else {
				dropped := "unknown"
				if m.Dropped != nil {
					dropped = fmt.Sprint(*m.Dropped)
				}
				fmt.Fprintf(stderr, "kcovdf record: %s: %d of %d words, %s records dropped\n", out, m.Fill, m.BufferWords, dropped)
			}
			if k := m.Kcov; k != nil {
				fmt.Fprintf(stderr, "kcovdf record: classic kcov: %d PCs of a buffer of %d words", k.PCs, k.BufferWords)
				if k.Overflowed() {
					fmt.Fprintf(stderr, ", full: %d more were counted and lost (use more --kcov-words)", k.Count-k.PCs)
				}
				fmt.Fprintln(stderr)
			}
			if rec.ExitCode != 0 {
				return exitCodeError{rec.ExitCode}
			}
			return nil
		},
	}
	// Everything after CMD is CMD's: "record ls -l" must not read -l.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVarP(&out, "output", "o", "trace.kdf", "trace file to write")
	cmd.Flags().IntVar(&words, "words", defaultWords, wordsUsage)
	cmd.Flags().StringVar(&path, "device", device.DefaultPath, deviceUsage)
	cmd.Flags().BoolVar(&kcov, "kcov", false, "also record classic kcov's coverage (KCOV_TRACE_PC) of the same thread into the trace file")
	cmd.Flags().IntVar(&kcovWords, "kcov-words", defaultWords, "classic kcov's buffer in words, with --kcov")
	cmd.Flags().StringVar(&kcovPath, "kcov-device", device.KcovPath, "classic kcov's file, with --kcov")
	cmd.Flags().BoolVar(&follow, "follow", false, "trace CMD's whole process tree: every thread and process it creates, each into chunks of its own (KCOV_DF_ENABLE_FOLLOW)")
	cmd.Flags().IntVar(&chunkWords, "chunk-words", abi.FollowDefaultChunk, "with --follow: words per chunk, a power of two from 64, smaller than --words")
	return cmd
}
