//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kcovdf/kcovdf/device"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newLatencyCommand) }

func newLatencyCommand() *cobra.Command {
	var trace, kcov, asJSON bool
	var modes []string
	var calls, rounds, words int
	var path, kcovPath string
	cmd := &cobra.Command{
		Use:   "latency [flags]",
		Short: "Time a few syscalls on this kernel, optionally with kcov dataflow and/or classic kcov on",
		Long: `latency times getpid, open+close and a 4 KiB read (medians of rounds of calls)
on one thread. With --trace the thread is traced by kcov dataflow meanwhile,
with --kcov by classic kcov (KCOV_TRACE_PC), with both by both; it then also
prints what they collected per call: dataflow's words and records, kcov's PCs.
--modes measures several combinations in turns, round by round, so that a
noisy machine slows them alike: none, kcov, dataflow, both, and follow:
kcov dataflow in follow mode (KCOV_DF_ENABLE_FOLLOW, chunks of 1024 words)
on a file of its own, whose words are the chunks' record words.
"kcovdf lab bench" runs them in the lab and prints the ratios.`,
		Args: argsExactly(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(modes) == 0 {
				switch {
				case trace && kcov:
					modes = []string{"both"}
				case trace:
					modes = []string{"dataflow"}
				case kcov:
					modes = []string{"kcov"}
				default:
					modes = []string{"none"}
				}
			} else if trace || kcov {
				return usageError(cmd, "--modes replaces --trace and --kcov: give one or the other")
			}
			var d, fd *device.Device
			var k *device.Kcov
			var trs []device.Tracers
			for _, m := range modes {
				var tr device.Tracers
				switch m {
				case "none":
				case "follow":
					if fd == nil {
						var err error
						if fd, err = device.Open(path); err != nil {
							return err
						}
						defer func() { fd.Close() }()
						if _, err := fd.Setup(words); err != nil {
							return err
						}
					}
					tr.Follow = fd
				case "kcov", "dataflow", "both":
					if m != "kcov" {
						if d == nil {
							var err error
							if d, err = device.Open(path); err != nil {
								return err
							}
							defer d.Close()
							if _, err := d.Setup(words); err != nil {
								return err
							}
						}
						tr.Dataflow = d
					}
					if m != "dataflow" {
						if k == nil {
							var err error
							if k, err = device.OpenKcov(kcovPath, words); err != nil {
								return err
							}
							defer k.Close()
						}
						tr.Kcov = k
					}
				default:
					return usageError(cmd, fmt.Sprintf("--modes: unknown mode %q (none, kcov, dataflow, both, follow)", m))
				}
				trs = append(trs, tr)
			}
			res, err := device.MeasureSyscalls(trs, calls, rounds)
			if errors.Is(err, device.ErrNotSupported) && fd != nil {
				return fmt.Errorf("%w; leave follow out of --modes", err)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, r := range res {
				if asJSON {
					b, err := json.Marshal(r)
					if err != nil {
						return err
					}
					fmt.Fprintln(w, string(b))
				} else {
					fmt.Fprintf(w, "%-12s %-8s %10d ns", r.Name, r.Collector(), r.NS)
					if r.Traced {
						fmt.Fprintf(w, "  %9.1f words %7.1f records", r.Words, r.Records)
					}
					if r.Collector() == "kcov" || r.Collector() == "both" {
						fmt.Fprintf(w, "  %7.1f PCs", r.PCs)
					}
					fmt.Fprintln(w)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&trace, "trace", false, "trace the measuring thread with kcov dataflow")
	cmd.Flags().StringSliceVar(&modes, "modes", nil, "measure these in turns: none, kcov, dataflow, both, follow (comma-separated)")
	cmd.Flags().BoolVar(&kcov, "kcov", false, "collect the measuring thread's coverage with classic kcov (KCOV_TRACE_PC)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object a line")
	cmd.Flags().IntVar(&calls, "calls", defaultCalls, callsUsage)
	cmd.Flags().IntVar(&rounds, "rounds", defaultRounds, roundsUsage)
	cmd.Flags().IntVar(&words, "words", defaultWords, wordsUsage+"; reset every round")
	cmd.Flags().StringVar(&path, "device", device.DefaultPath, deviceUsage)
	cmd.Flags().StringVar(&kcovPath, "kcov-device", device.KcovPath, "classic kcov's file")
	return cmd
}
