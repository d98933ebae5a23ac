package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/kcovdf/kcovdf/calls"
)

// Classic kcov's coverage beside dataflow's records: what stats and show
// read from a trace recorded with --kcov.

// kcovModules is where x86-64 module text starts with KASLR: kcov gives
// kernel text PCs at link-time addresses (it subtracts the offset itself)
// and module PCs at runtime ones.
const kcovModules = 0xffffffffc0000000

// kcovFunc is the link-time start of the function a kcov PC lies in.
func (n *names) kcovFunc(pc uint64) (uint64, bool) {
	if n == nil || n.ix == nil {
		return 0, false
	}
	if pc >= kcovModules {
		pc = n.space.Link(pc)
	}
	if f := n.ix.Lookup(pc); f != nil {
		return f.Low, true
	}
	return 0, false
}

// captureFuncs are what dataflow's callbacks call to read arguments and
// fields without faulting. They are built with kcov, so with both on kcov
// shows them: PCs of the capture, not of the traced code.
var captureFuncs = map[string]bool{"copy_from_kernel_nofault": true, "copy_from_kernel_nofault_allowed": true}

// kcovEdge is a syzkaller/AFL-style edge of two consecutive PCs.
func kcovEdge(prev, cur uint64) uint64 { return prev>>1 ^ cur }

// kcovStats is classic kcov's coverage of a trace, by function.
type kcovStats struct {
	PCs, Unique, Edges int
	Overflowed         bool
	Lost               uint64 // PCs kcov counted with no room to store
	Named              bool   // functions known (--symbols)
	Functions          int    // functions reached
	AlsoTraced         int    // of which dataflow traced
	// Capture counts the PCs of the functions dataflow's callbacks call
	// to read values (captureFuncs): with both on, kcov sees them too.
	Capture int
	ByFunc  []*kcovFunc
	Align   *calls.AlignStats // nil without names
}

type kcovFunc struct {
	start       uint64 // link time
	name        string
	pcs, unique int
	calls       int // dataflow's calls of it
}

// kcovSummary sums up pcs by function; tree and cov (may be nil) tell
// which functions dataflow traced and how the streams aligned.
func kcovSummary(pcs []uint64, count uint64, nm *names, tree *calls.Tree, cov *calls.Coverage) *kcovStats {
	ks := &kcovStats{PCs: len(pcs), Named: nm != nil && nm.ix != nil}
	if count > uint64(len(pcs)) {
		ks.Overflowed, ks.Lost = true, count-uint64(len(pcs))
	}
	seen := make(map[uint64]bool, len(pcs)/4)
	edges := make(map[uint64]bool, len(pcs)/4)
	prev := uint64(0)
	byFunc := map[uint64]*kcovFunc{}
	for _, pc := range pcs {
		edges[kcovEdge(prev, pc)] = true
		prev = pc
		first := !seen[pc]
		seen[pc] = true
		f, ok := nm.kcovFunc(pc)
		if !ok {
			continue
		}
		s := byFunc[f]
		if s == nil {
			s = &kcovFunc{start: f}
			if fn := nm.ix.Lookup(f); fn != nil {
				s.name = fn.Name
			}
			byFunc[f] = s
		}
		s.pcs++
		if captureFuncs[s.name] {
			ks.Capture++
		}
		if first {
			s.unique++
		}
	}
	ks.Unique, ks.Edges = len(seen), len(edges)
	if tree != nil {
		for i := range tree.Calls {
			if s := byFunc[nm.space.Link(tree.Calls[i].PC)]; s != nil {
				s.calls++
			}
		}
	}
	for _, s := range byFunc {
		ks.ByFunc = append(ks.ByFunc, s)
		if s.calls > 0 {
			ks.AlsoTraced++
		}
	}
	ks.Functions = len(byFunc)
	slices.SortFunc(ks.ByFunc, func(a, b *kcovFunc) int {
		return cmp.Or(cmp.Compare(b.pcs, a.pcs), cmp.Compare(a.start, b.start))
	})
	if cov != nil {
		ks.Align = &cov.Stats
	}
	return ks
}

// alignKcov places the trace's kcov PCs on tree's calls; nil without
// names to find the PCs' functions by.
func (in *input) alignKcov(tree *calls.Tree) *calls.Coverage {
	if in.trace.Meta.Kcov == nil || in.names == nil || in.names.ix == nil {
		return nil
	}
	return calls.Align(tree, in.trace.KcovPCs, in.names.kcovFunc, in.names.space.Link)
}

// printHead writes the summary lines.
func (ks *kcovStats) printHead(w io.Writer) {
	lost := ""
	if ks.Overflowed {
		lost = fmt.Sprintf("; buffer full, %d more counted and lost", ks.Lost)
	}
	fmt.Fprintf(w, "kcov pcs\t%d (%d unique, %d unique edges)%s\n", ks.PCs, ks.Unique, ks.Edges, lost)
	if !ks.Named {
		fmt.Fprintf(w, "kcov functions\tunknown: pass --symbols with the traced kernel's vmlinux\n")
		return
	}
	fmt.Fprintf(w, "kcov functions\t%d reached, %d of them traced by dataflow\n", ks.Functions, ks.AlsoTraced)
	if ks.Capture > 0 {
		fmt.Fprintf(w, "kcov capture\t%d pcs (%.1f%%) in the no-fault reads of dataflow's callbacks\n", ks.Capture, 100*float64(ks.Capture)/float64(ks.PCs))
	}
	if a := ks.Align; a != nil {
		fmt.Fprintf(w, "kcov in calls\t%d exactly, %d guessed, %d outside every call\n", a.Exact, a.Guessed, a.Outside)
		fmt.Fprintf(w, "kcov alignment\t%d calls entered, %d skipped, %d pcs mismatched, %d in no function\n", a.Entered, a.Skipped, a.Mismatched, a.Unknown)
	}
}

// printTable writes the top functions by PCs.
func (ks *kcovStats) printTable(w io.Writer, top int) {
	if !ks.Named {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "function\tkcov pcs\tunique\tpcs/call\tdataflow calls\n")
	for i, s := range ks.ByFunc {
		if i == top {
			fmt.Fprintf(w, "...\t%d more\t\t\t\n", len(ks.ByFunc)-top)
			break
		}
		perCall := "-"
		if s.calls > 0 {
			perCall = fmt.Sprintf("%.1f", float64(s.pcs)/float64(s.calls))
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%d\n", cmp.Or(s.name, fmt.Sprintf("%#x", s.start)), s.pcs, s.unique, perCall, s.calls)
	}
}

// kcovJSON is the kcov part of "stats --json".
type kcovJSON struct {
	PCs           int               `json:"pcs"`
	Unique        int               `json:"unique_pcs"`
	Edges         int               `json:"unique_edges"`
	Lost          uint64            `json:"lost"`
	Functions     *int              `json:"functions,omitempty"` // nil: unknown without symbols
	AlsoTraced    int               `json:"functions_traced_by_dataflow"`
	Capture       int               `json:"capture_pcs"`
	Align         *calls.AlignStats `json:"alignment,omitempty"`
	Top           []kcovFuncJSON    `json:"top"`
	MoreFunctions int               `json:"more_functions"`
}

type kcovFuncJSON struct {
	Function string  `json:"function"`
	PCs      int     `json:"pcs"`
	Unique   int     `json:"unique_pcs"`
	Calls    int     `json:"dataflow_calls"`
	PerCall  float64 `json:"pcs_per_call,omitempty"`
}

func (ks *kcovStats) json(top int) *kcovJSON {
	j := &kcovJSON{PCs: ks.PCs, Unique: ks.Unique, Edges: ks.Edges, Lost: ks.Lost, AlsoTraced: ks.AlsoTraced, Capture: ks.Capture, Align: ks.Align, Top: []kcovFuncJSON{}}
	if ks.Named {
		j.Functions = &ks.Functions
	}
	for i, s := range ks.ByFunc {
		if i == top {
			j.MoreFunctions = len(ks.ByFunc) - top
			break
		}
		f := kcovFuncJSON{Function: cmp.Or(s.name, fmt.Sprintf("%#x", s.start)), PCs: s.pcs, Unique: s.unique, Calls: s.calls}
		if s.calls > 0 {
			f.PerCall = float64(s.pcs) / float64(s.calls)
		}
		j.Top = append(j.Top, f)
	}
	return j
}

// pcText names a kcov PC: +OFF inside fn (the call's function), else
// name+OFF, else hex.
func (n *names) pcText(pc, fn uint64) string {
	f, ok := n.kcovFunc(pc)
	switch {
	case !ok:
		return fmt.Sprintf("%#x", pc)
	case f == fn:
		return fmt.Sprintf("+%#x", pc-f)
	}
	name := fmt.Sprintf("%#x", f)
	if fi := n.ix.Lookup(f); fi != nil {
		name = fi.Name
	}
	return fmt.Sprintf("%s+%#x", name, pc-f)
}

// isCapture tells whether a kcov PC is in one of captureFuncs.
func (n *names) isCapture(pc uint64) bool {
	f, ok := n.kcovFunc(pc)
	if !ok {
		return false
	}
	fi := n.ix.Lookup(f)
	return fi != nil && captureFuncs[fi.Name]
}

// callPCs lists, per call, the kcov PCs placed in it, named, but for those
// of dataflow's own reads (captureFuncs); a guessed one ends in "?".
func (in *input) callPCs(tree *calls.Tree, cov *calls.Coverage) func(i int) (pcs []string, guessed int) {
	self := cov.Self(len(tree.Calls))
	return func(i int) ([]string, int) {
		fn := in.names.space.Link(tree.Calls[i].PC)
		out := make([]string, 0, len(self[i]))
		guessed := 0
		for _, k := range self[i] {
			if in.names.isCapture(cov.PCs[k]) {
				continue
			}
			t := in.names.pcText(cov.PCs[k], fn)
			if !cov.Exact[k] {
				t += "?"
				guessed++
			}
			out = append(out, t)
		}
		return out, guessed
	}
}
