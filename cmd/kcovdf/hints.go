package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/hints"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newHintsCommand) }

func newHintsCommand() *cobra.Command {
	var in inputFlags
	var out, task string
	var maxPerPC, maxValues int
	cmd := &cobra.Command{
		Use:   "hints [flags] TRACE...",
		Short: "Mutation hints for a fuzzer: the values every run of a program made the kernel see, as JSON",
		Long: `hints lists, for each function and each of its arguments and struct fields,
the values that every given trace saw — give two or three traces of the same
program, since a third of the values change from run to run — and expands
each into the candidates syzkaller's hints would try: the value in 8, 4, 2
and 1 bytes, sign-extended, and byte-swapped, without the special values a
fuzzer tries anyway. Return values and errnos are listed apart: they tell
which checks a call passed. Candidates are capped per function, the most
frequent values first.

Of a follow-mode trace (record --follow) the values of every task's
stream are taken, each decoded on its own (--task keeps one task); the
JSON lists the tasks.`,
		Example: `  kcovdf hints --symbols vmlinux a.kdf b.kdf c.kdf
  kcovdf hints --symbols vmlinux -o hints.json a.kdf b.kdf`,
		Args: argsAtLeastOne("TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if maxPerPC <= 0 || maxValues <= 0 {
				return fmt.Errorf("--max-per-pc and --max-values-per-slot must be positive")
			}
			if len(args) > hints.MaxRuns {
				return fmt.Errorf("%d traces; at most %d runs are intersected", len(args), hints.MaxRuns)
			}
			opt := hints.Options{MaxPerPC: maxPerPC, MaxValuesPerSlot: maxValues}
			var runs []*hints.Run
			var taskRows []hintsTaskJSON
			var first *feedbackTrace
			for _, path := range args {
				t, err := in.openFeedback(path, task)
				if err != nil {
					return err
				}
				defer t.close()
				if first == nil {
					first = t
				}
				o := opt
				o.Slide, o.Types = t.slide, t.types
				obs := hints.NewObserver(o)
				if _, err := t.walk(cmd.ErrOrStderr(), func(r *abi.Record) {
					obs.Add(r)
					if n := len(taskRows); n > 0 && taskRows[n-1].Trace == path {
						taskRows[n-1].Records++
					}
				}, func(ts *abi.TaskStream) {
					taskRows = append(taskRows, hintsTaskJSON{Trace: path, Tid: ts.Tid, Process: ts.Tgid, Name: taskNames(ts)})
				}); err != nil {
					return err
				}
				runs = append(runs, obs.Run())
			}
			h, err := hints.Stable(opt, runs...)
			if err != nil {
				return err
			}
			res := hintsJSONOf(h, args, first.src.names)
			res.Tasks = taskRows
			w := cmd.OutOrStdout()
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				if err := writeJSON(f, res); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "hints: %d functions, %d stable values, %d flaky, written to %s\n", len(res.Functions), h.Stable, h.Flaky, out)
				return nil
			}
			return writeJSON(w, res)
		},
	}
	in.register(cmd)
	registerTask(cmd, &task)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the JSON to this file instead of standard output")
	cmd.Flags().IntVar(&maxPerPC, "max-per-pc", hints.DefaultMaxPerPC, "candidates per function at most")
	cmd.Flags().IntVar(&maxValues, "max-values-per-slot", hints.DefaultMaxValuesPerSlot, "distinct values an argument or field keeps per trace at most")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type hintsJSON struct {
	Traces    []string        `json:"traces"`
	Runs      int             `json:"runs"`
	Stable    int             `json:"stable"`      // (slot, value) pairs every run saw
	Flaky     int             `json:"flaky"`       // pairs of a run some other run lacked
	Noisy     int             `json:"noisy_slots"` // slots over --max-values-per-slot in a run
	Functions []hintsFuncJSON `json:"functions"`
	// Tasks are the tasks of the follow-mode traces whose records were
	// observed, each stream on its own.
	Tasks []hintsTaskJSON `json:"tasks,omitempty"`
}

type hintsTaskJSON struct {
	Trace   string `json:"trace"`
	Tid     int    `json:"tid"`
	Process int    `json:"process"`
	Name    string `json:"name"`
	Records int    `json:"records"`
}

type hintsFuncJSON struct {
	PC       string           `json:"pc"` // link-time
	Function string           `json:"function,omitempty"`
	Capped   int              `json:"capped,omitempty"`
	Slots    []hintsSlotJSON  `json:"slots,omitempty"`
	Returns  *hintsReturnJSON `json:"returns,omitempty"`
}

type hintsSlotJSON struct {
	Slot       string   `json:"slot"` // "arg2 (how).flags", "ret.f_mode"
	Ret        bool     `json:"ret,omitempty"`
	Arg        int      `json:"arg"`
	Field      int      `json:"field"` // -1: the value itself
	Width      int      `json:"width"`
	Values     []string `json:"values"`
	Candidates []string `json:"candidates"`
}

type hintsReturnJSON struct {
	Values []int64  `json:"values,omitempty"`
	Errnos []string `json:"errnos,omitempty"`
}

func hintsJSONOf(h *hints.Hints, traces []string, nm *names) hintsJSON {
	res := hintsJSON{Traces: traces, Runs: h.Runs, Stable: h.Stable, Flaky: h.Flaky, Noisy: h.Noisy, Functions: []hintsFuncJSON{}}
	for _, f := range h.Funcs {
		fj := hintsFuncJSON{PC: fmt.Sprintf("%#x", f.PC), Capped: f.Capped}
		for _, s := range f.Args {
			sl := signalSlot(f.PC, s)
			fn, param, field := slotNames(nm, f.PC, sl)
			fj.Function = fn
			fj.Slots = append(fj.Slots, hintsSlotJSON{
				Slot: slotText(sl, param, field), Ret: s.Ret, Arg: s.Arg, Field: s.Field, Width: s.Width,
				Values: hexList(s.Values), Candidates: hexList(s.Candidates),
			})
		}
		if fj.Function == "" {
			fj.Function, _, _ = slotNames(nm, f.PC, signalSlot(f.PC, hints.Slot{Field: -1}))
		}
		if r := f.Returns; r != nil {
			rj := &hintsReturnJSON{Values: r.Values}
			for _, e := range r.Errnos {
				rj.Errnos = append(rj.Errnos, errnoText(e))
			}
			fj.Returns = rj
		}
		res.Functions = append(res.Functions, fj)
	}
	return res
}

func hexList(vs []uint64) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%#x", v)
	}
	return out
}
