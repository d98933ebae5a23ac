package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// What "kcovdf feedback" measures and prints; the run itself (Linux only)
// is in feedbackrun.go.

// feedbackRow is one pair of sequences: for each kind of feedback, what
// it saw of A and of B and whether it tells them apart.
type feedbackRow struct {
	Pair  string       `json:"pair"`
	Class string       `json:"class"`
	PCs   featureCount `json:"kcov_pcs"`
	Edges featureCount `json:"kcov_edges"`
	// PCsAlone is kcov's PCs in runs with dataflow off: the check that
	// dataflow's being on changes nothing kcov tells apart.
	PCsAlone featureCount `json:"kcov_pcs_alone"`
	Dataflow featureCount `json:"dataflow"`
	// Returns is dataflow's signal of return values alone: what the
	// kernel made of the inputs, rather than the inputs passed down.
	Returns featureCount `json:"dataflow_returns"`
	// Full: a buffer filled in some run; the row is not to be trusted.
	Full bool `json:"full,omitempty"`
}

// featureCount compares the features of A's and B's runs. A feature
// counts as new only when every run of one side has it and no run of the
// other does, so that run-to-run noise (a page fault, a lock contended
// once) does not pass for a difference.
type featureCount struct {
	A    int `json:"a"`     // features every run of A had
	B    int `json:"b"`     // features every run of B had
	NewB int `json:"new_b"` // what B adds to a corpus that has A
	NewA int `json:"new_a"` // what A adds to a corpus that has B
	// Noise is how many features some runs of a side had and others not.
	Noise int `json:"noise"`
}

// Apart tells whether this feedback tells A and B apart.
func (c featureCount) Apart() bool { return c.NewA+c.NewB > 0 }

// compareRuns counts the features of runs of A and B, each a sorted set.
func compareRuns(a, b [][]uint64) featureCount {
	sa, ua := stableUnion(a)
	sb, ub := stableUnion(b)
	return featureCount{A: len(sa), B: len(sb), NewB: len(setMinus(sb, ua)), NewA: len(setMinus(sa, ub)),
		Noise: len(ua) - len(sa) + len(ub) - len(sb)}
}

// stableUnion is the features all runs have and those any run has.
func stableUnion(runs [][]uint64) (stable, union []uint64) {
	if len(runs) == 0 {
		return nil, nil
	}
	stable, union = runs[0], runs[0]
	for _, r := range runs[1:] {
		stable = setAnd(stable, r)
		union = setOr(union, r)
	}
	return stable, union
}

func setAnd(a, b []uint64) []uint64 {
	var out []uint64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func setOr(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// setMinus is a without b.
func setMinus(a, b []uint64) []uint64 {
	var out []uint64
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			out = append(out, x)
		}
	}
	return out
}

// pcFeatures are the distinct PCs of a run and its distinct edges
// (syzkaller/AFL style: prev>>1 ^ cur), each sorted; skip leaves PCs out
// (dataflow's own reads, which a kcov-only run would not have).
func pcFeatures(pcs []uint64, skip func(uint64) bool) (set, edges []uint64) {
	prev := uint64(0)
	for _, pc := range pcs {
		if skip != nil && skip(pc) {
			continue
		}
		set = append(set, pc)
		edges = append(edges, kcovEdge(prev, pc))
		prev = pc
	}
	slices.Sort(set)
	slices.Sort(edges)
	return slices.Compact(set), slices.Compact(edges)
}

func writeFeedbackJSON(w io.Writer, rows []feedbackRow) error {
	enc := json.NewEncoder(w)
	for i := range rows {
		if err := enc.Encode(&rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// readFeedbackJSON reads what writeFeedbackJSON wrote.
func readFeedbackJSON(r io.Reader) ([]feedbackRow, error) {
	dec := json.NewDecoder(r)
	var rows []feedbackRow
	for dec.More() {
		var row feedbackRow
		if err := dec.Decode(&row); err != nil {
			return rows, fmt.Errorf("feedback row %d: %w", len(rows)+1, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// printFeedback prints the table: per pair and feedback, whether it tells
// A from B and how many features each adds to a corpus holding the other
// (+B/+A), then per class how many pairs each feedback told apart.
func printFeedback(w io.Writer, rows []feedbackRow, runs int) error {
	cell := func(c featureCount) string {
		yes := "no"
		if c.Apart() {
			yes = "yes"
		}
		return fmt.Sprintf("%s +%d/+%d", yes, c.NewB, c.NewA)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "pair\tclass\tkcov pcs\tkcov edges\tdataflow\tdataflow returns\tnoise pcs/edges/dataflow\n")
	type tally struct{ pairs, pcs, edges, df, rets, dfOnly, retsOnly, kcovOnly int }
	byClass := map[string]*tally{}
	var classes []string
	all := &tally{}
	for _, r := range rows {
		full := ""
		if r.Full {
			full = " (buffer full)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%d/%d/%d\n", r.Pair, full, r.Class, cell(r.PCs), cell(r.Edges), cell(r.Dataflow), cell(r.Returns), r.PCs.Noise, r.Edges.Noise, r.Dataflow.Noise)
		t := byClass[r.Class]
		if t == nil {
			t = &tally{}
			byClass[r.Class] = t
			classes = append(classes, r.Class)
		}
		for _, t := range []*tally{t, all} {
			t.pairs++
			kcov := r.PCs.Apart() || r.Edges.Apart()
			if r.PCs.Apart() {
				t.pcs++
			}
			if r.Edges.Apart() {
				t.edges++
			}
			if r.Dataflow.Apart() {
				t.df++
				if !kcov {
					t.dfOnly++
				}
			} else if kcov {
				t.kcovOnly++
			}
			if r.Returns.Apart() {
				t.rets++
				if !kcov {
					t.retsOnly++
				}
			}
		}
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\t\n")
	fmt.Fprintf(tw, "class\tpairs\tkcov pcs apart\tkcov edges apart\tdataflow apart\treturns apart\tonly dataflow / only returns / only kcov\n")
	slices.Sort(classes)
	for _, c := range append(classes, "all") {
		t := byClass[c]
		if c == "all" {
			t = all
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d / %d / %d\n", c, t.pairs, t.pcs, t.edges, t.df, t.rets, t.dfOnly, t.retsOnly, t.kcovOnly)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var differ []string
	for _, r := range rows {
		if r.PCsAlone.Apart() != r.PCs.Apart() {
			differ = append(differ, r.Pair)
		}
	}
	fmt.Fprintf(w, "kcov with dataflow off tells %d of %d pairs apart the same way", len(rows)-len(differ), len(rows))
	if len(differ) > 0 {
		fmt.Fprintf(w, "; not: %s", strings.Join(differ, ", "))
	}
	fmt.Fprintln(w, ".")
	_, err := fmt.Fprintf(w, "+B/+A: features one side had in all %d runs and the other in none (what it adds to a corpus holding the other); noise: features only some runs of a side had. kcov without the PCs of dataflow's own reads. returns: dataflow's features of return values alone.\n", runs)
	return err
}
