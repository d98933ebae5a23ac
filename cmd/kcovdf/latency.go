//go:build linux

package main

import (
	"encoding/json"
	"fmt"

	"github.com/kcovdf/kcovdf/device"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newLatencyCommand) }

func newLatencyCommand() *cobra.Command {
	var trace, asJSON bool
	var calls, rounds, words int
	var path string
	cmd := &cobra.Command{
		Use:   "latency [flags]",
		Short: "Time a few syscalls on this kernel, optionally with kcov dataflow tracing on",
		Long: `latency times getpid, open+close and a 4 KiB read (medians of rounds of calls)
on one thread. With --trace the thread is traced into a buffer meanwhile.
"kcovdf lab bench" runs it on an uninstrumented and an instrumented kernel and
prints the ratios.`,
		Args: argsExactly(),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d *device.Device
			if trace {
				var err error
				if d, err = device.Open(path); err != nil {
					return err
				}
				defer d.Close()
				if _, err := d.Setup(words); err != nil {
					return err
				}
			}
			res, err := device.MeasureSyscalls(d, calls, rounds)
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
					fmt.Fprintf(w, "%-12s %8d ns\n", r.Name, r.NS)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&trace, "trace", false, "trace the measuring thread")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object a line")
	cmd.Flags().IntVar(&calls, "calls", 300, "calls per round")
	cmd.Flags().IntVar(&rounds, "rounds", 9, "rounds (the median is kept)")
	cmd.Flags().IntVar(&words, "words", defaultWords, wordsUsage+"; reset every round")
	cmd.Flags().StringVar(&path, "device", device.DefaultPath, deviceUsage)
	return cmd
}
