package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/signal"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newSignalCommand) }

func newSignalCommand() *cobra.Command {
	var in inputFlags
	var corpus, save, ids, funcRE, task string
	var asJSON, relations bool
	var top, maxPerSlot int
	cmd := &cobra.Command{
		Use:   "signal [flags] TRACE...",
		Short: "Fuzzer feedback: the value features of traces, and what is new against a corpus",
		Long: `signal reduces every argument, field and return value of the traces to a
feature — (function, argument or field, value class) — as package signal
does for a fuzzer (docs/signal.md), and counts them. A trace's "new"
features are those neither the corpus (--corpus) nor the traces before it
on the command line have: give two traces to see what the second adds.

--save writes the union of the corpus and the traces, in the binary form
or, for a name ending in .json, the JSON form.

A follow-mode trace (record --follow) gives the features of every task's
stream, each decoded on its own; its tasks are listed under it with the
features of each alone. --task keeps one task.`,
		Example: `  kcovdf signal --symbols vmlinux a.kdf b.kdf
  kcovdf signal --symbols vmlinux --save corpus.sig a.kdf
  kcovdf signal --symbols vmlinux --corpus corpus.sig --json b.kdf`,
		Args: argsAtLeastOne("TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var have signal.Signal
			res := signalJSON{Traces: []signalTraceJSON{}, New: []featureJSON{}}
			if corpus != "" {
				data, err := os.ReadFile(corpus)
				if err != nil {
					return err
				}
				if have, err = signal.Parse(data); err != nil {
					return fmt.Errorf("--corpus %s: %w (write one with --save)", corpus, err)
				}
				res.Corpus = &corpusJSON{File: corpus, Features: have.Len()}
			}
			if ids != "pc" && ids != "name" {
				return fmt.Errorf("--func-ids %q: want pc or name", ids)
			}
			var re *regexp.Regexp
			if funcRE != "" {
				var err error
				if re, err = regexp.Compile(funcRE); err != nil {
					return fmt.Errorf("--func: %v", err)
				}
			}
			if maxPerSlot == 0 {
				return fmt.Errorf("--max-per-slot 0: give a bound, or -1 for none")
			}
			var added, union signal.Signal
			type newFeature struct {
				f     signal.Feature
				trace *feedbackTrace
				link  uint64
			}
			var fresh []newFeature
			for _, path := range args {
				t, err := in.openFeedback(path, task)
				if err != nil {
					return err
				}
				defer t.close()
				opt := signal.Options{Slide: t.slide, Types: t.types, Relations: relations, MaxPerSlot: maxPerSlot}
				links := map[uint32]uint64{}
				if ids == "name" {
					if t.src.names.ix == nil {
						return fmt.Errorf("--func-ids name: names need --symbols")
					}
					byName := signal.FuncIDByName(t.src.names.ix)
					opt.FuncID = func(pc uint64) uint32 {
						id := byName(pc)
						links[id] = pc
						return id
					}
				}
				e := signal.NewExtractor(opt)
				// A follow-mode trace's tasks each have their features
				// counted too, by an extractor of their own.
				var tasks []signalTaskJSON
				var te *signal.Extractor
				endTask := func() {
					if te != nil {
						tasks[len(tasks)-1].Features = te.Len()
					}
				}
				feed := e.Add
				if t.follow != nil {
					feed = func(r *abi.Record) {
						e.Add(r)
						te.Add(r)
						tasks[len(tasks)-1].Records++
					}
				}
				sum, err := t.walk(cmd.ErrOrStderr(), feed, func(ts *abi.TaskStream) {
					endTask()
					te = signal.NewExtractor(opt)
					tasks = append(tasks, signalTaskJSON{Tid: ts.Tid, Process: ts.Tgid, Name: taskNames(ts)})
				})
				if err != nil {
					return err
				}
				endTask()
				s := e.Signal()
				union = union.Merge(s)
				add := have.Diff(s)
				have = have.Merge(add)
				added = added.Merge(add)
				res.Traces = append(res.Traces, signalTraceJSON{File: path, Records: sum.Records, Features: s.Len(), New: add.Len(), Capped: e.Capped, Tasks: tasks})
				res.Total.Records += sum.Records
				for _, f := range add.Features() {
					link, ok := links[f.Slot().Func()]
					if !ok {
						link = linkPC(f.Slot().Func())
					}
					fresh = append(fresh, newFeature{f, t, link})
				}
			}
			res.Total.Features = union.Len()
			res.Total.New = added.Len()
			for _, nf := range fresh {
				s := nf.f.Slot()
				fn, param, field := slotNames(nf.trace.src.names, nf.link, s)
				if re != nil && !re.MatchString(fn) {
					continue
				}
				if len(res.New) == top {
					res.MoreNew++
					continue
				}
				res.New = append(res.New, featureJSON{
					Feature: fmt.Sprintf("%#016x", uint64(nf.f)), PC: fmt.Sprintf("%#x", nf.link), Function: fn,
					Slot: slotText(s, param, field), Class: nf.f.Class().String(), Value: valueText(nf.f),
				})
			}
			if save != "" {
				var data []byte
				var err error
				if strings.HasSuffix(save, ".json") {
					data, err = have.MarshalJSON()
				} else {
					data, err = have.MarshalBinary()
				}
				if err == nil {
					err = os.WriteFile(save, data, 0o644)
				}
				if err != nil {
					return err
				}
				res.Saved = &corpusJSON{File: save, Features: have.Len()}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if res.Corpus != nil {
				fmt.Fprintf(w, "corpus\t%s\t%d features\n\n", corpus, res.Corpus.Features)
			}
			fmt.Fprintf(w, "trace\trecords\tfeatures\tnew\tcapped\n")
			for _, t := range res.Traces {
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", t.File, t.Records, t.Features, t.New, t.Capped)
				for _, k := range t.Tasks {
					fmt.Fprintf(w, "  task %d (%s)\t%d\t%d\t\t\n", k.Tid, k.Name, k.Records, k.Features)
				}
			}
			if len(res.Traces) > 1 {
				fmt.Fprintf(w, "all\t%d\t%d\t%d\t\n", res.Total.Records, res.Total.Features, res.Total.New)
			}
			if len(res.New) > 0 {
				fmt.Fprintf(w, "\nnew feature\tfunction\tslot\tclass\tvalue\n")
				for _, f := range res.New {
					fn := f.Function
					if fn == "" {
						fn = f.PC
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Feature, fn, f.Slot, f.Class, f.Value)
				}
				if res.MoreNew > 0 {
					fmt.Fprintf(w, "...\t%d more\t\t\t\n", res.MoreNew)
				}
			}
			if res.Saved != nil {
				fmt.Fprintf(w, "\nsaved\t%s\t%d features\n", save, res.Saved.Features)
			}
			return w.Flush()
		},
	}
	in.register(cmd)
	registerTask(cmd, &task)
	cmd.Flags().StringVar(&corpus, "corpus", "", "a saved signal (--save) to compare with: new features are those it lacks")
	cmd.Flags().StringVar(&save, "save", "", "write the union of the corpus and the traces to this file (binary; JSON for a name ending in .json)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object")
	cmd.Flags().BoolVar(&relations, "relations", false, "add the relations (<, ==, >) between the first fields of each struct")
	cmd.Flags().IntVar(&top, "top", 20, "new features to list")
	cmd.Flags().StringVar(&funcRE, "func", "", "list only the new features of functions matching this regular expression (the counts stay whole)")
	cmd.Flags().IntVar(&maxPerSlot, "max-per-slot", signal.DefaultMaxPerSlot, "features one (function, argument, field) adds per trace at most; -1: no bound")
	cmd.Flags().StringVar(&ids, "func-ids", "pc", "name functions in features by their link-time address (pc: one kernel build) or by a hash of their name (name: survives a rebuild; needs --symbols)")
	return cmd
}

// valueText is a feature's class payload as a person reads it.
func valueText(f signal.Feature) string {
	p := f.Payload()
	switch f.Class() {
	case signal.ClassSmall:
		return fmt.Sprint(p)
	case signal.ClassSmallNeg:
		return fmt.Sprint(-int(p))
	case signal.ClassLog:
		return fmt.Sprintf("[2^%d, 2^%d), %s bits set", p>>2-1, p>>2, popBucket[p&3])
	case signal.ClassLogNeg:
		return fmt.Sprintf("(-2^%d, -2^%d], %s bits set", p>>2, p>>2-1, popBucket[p&3])
	case signal.ClassErrno, signal.ClassErrPtr:
		return "-" + errnoText(int64(p))
	case signal.ClassRelation:
		return fmt.Sprintf("%s field %d", [4]string{"<", "==", ">", "?"}[p>>8&3], p&0xff)
	}
	return ""
}

var popBucket = [4]string{"1", "2", "3", "4+"}

type signalJSON struct {
	Corpus *corpusJSON       `json:"corpus,omitempty"`
	Traces []signalTraceJSON `json:"traces"`
	Total  struct {
		Records  int `json:"records"`
		Features int `json:"features"` // of the traces together
		New      int `json:"new"`
	} `json:"total"`
	New     []featureJSON `json:"new"`
	MoreNew int           `json:"more_new"` // left out of new (--top), of the functions --func lists
	Saved   *corpusJSON   `json:"saved,omitempty"`
}

type corpusJSON struct {
	File     string `json:"file"`
	Features int    `json:"features"`
}

type signalTraceJSON struct {
	File     string `json:"file"`
	Records  int    `json:"records"`
	Features int    `json:"features"`
	New      int    `json:"new"`    // not in the corpus nor in the traces before
	Capped   int    `json:"capped"` // values --max-per-slot refused
	// Tasks are a follow-mode trace's tasks, each with the features of
	// its own records (--max-per-slot applies to each task alone here).
	Tasks []signalTaskJSON `json:"tasks,omitempty"`
}

type signalTaskJSON struct {
	Tid      int    `json:"tid"`
	Process  int    `json:"process"`
	Name     string `json:"name"`
	Records  int    `json:"records"`
	Features int    `json:"features"`
}

type featureJSON struct {
	Feature  string `json:"feature"`
	PC       string `json:"pc"` // link-time
	Function string `json:"function,omitempty"`
	Slot     string `json:"slot"`
	Class    string `json:"class"`
	Value    string `json:"value,omitempty"`
}
