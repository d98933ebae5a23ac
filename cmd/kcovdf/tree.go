package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
)

// namedTree is one trace's call tree with what names it.
type namedTree struct {
	path    string
	src     *input
	tree    *calls.Tree
	namer   *calls.Namer
	summary *abi.Summary
	warning string
	// parts are the calls of a follow-mode trace, one tree per task and
	// program (tree is then nil).
	parts  []partTree
	follow *followed
}

// partTree is the calls one task made under one program.
type partTree struct {
	taskPart
	tree *calls.Tree
}

// buildTree opens a trace as show does (input flags, symbols, layouts)
// and groups its records into calls: one tree, or for a follow-mode
// trace one per task and program of the tasks task selects ("" for all).
func (in *inputFlags) buildTree(path, task string) (*namedTree, error) {
	src, err := in.open(path)
	if err != nil {
		return nil, err
	}
	fl, err := src.follow(path, task)
	if err != nil {
		src.trace.Close()
		return nil, err
	}
	if fl != nil {
		nt := &namedTree{path: path, src: src, namer: src.namer(), summary: fl.anomalies(), follow: fl}
		markers := fl.scan().markers
		pcs := map[uint64]bool{}
		for _, p := range fl.parts() {
			pt := partTree{taskPart: p, tree: p.build(fl, src.trace.Words, markers)}
			for i := range pt.tree.Calls {
				pcs[pt.tree.Calls[i].PC] = true
			}
			nt.parts = append(nt.parts, pt)
		}
		nt.warning, _ = src.names.check(pcs)
		return nt, nil
	}
	if n := int64(len(src.trace.Words)) * 8; n > 64<<20 {
		// A big trace: give back the file's bytes before building the
		// tree, and keep the heap near a few times the words.
		debug.FreeOSMemory()
		debug.SetMemoryLimit(n * 5 / 2)
	}
	d := abi.NewDecoder(src.trace.Words, src.opt)
	tree := calls.Build(src.trace.Words, d, calls.Options{Full: src.trace.Meta.Overflowed})
	pcs := map[uint64]bool{}
	for i := range tree.Calls {
		pcs[tree.Calls[i].PC] = true
	}
	warning, _ := src.names.check(pcs)
	return &namedTree{path: path, src: src, tree: tree, namer: src.namer(), summary: d.Summary(), warning: warning}, nil
}

// report writes what the user should know about how the trace was read;
// prefix tells two traces apart ("A: ").
func (nt *namedTree) report(w io.Writer, prefix string) {
	for _, n := range nt.src.notes {
		fmt.Fprintf(w, "note: %s%s\n", prefix, n)
	}
	if nt.src.fileErr != nil {
		fmt.Fprintf(w, "warning: %s%v\n", prefix, nt.src.fileErr)
	}
	if nt.tree != nil {
		for _, n := range nt.tree.Notes {
			fmt.Fprintf(w, "note: %s%s\n", prefix, n)
		}
	}
	for _, p := range nt.parts {
		for _, n := range p.tree.Notes {
			fmt.Fprintf(w, "note: %s%s: %s\n", prefix, p.label(), n)
		}
	}
	if nt.warning != "" {
		fmt.Fprintf(w, "warning: %s%s\n", prefix, nt.warning)
	}
	for i, a := range nt.summary.Anomalies {
		if i == 10 {
			fmt.Fprintf(w, "... %s%d more anomalies (kcovdf stats lists them by kind)\n", prefix, len(nt.summary.Anomalies)-10)
			break
		}
		fmt.Fprintf(w, "anomaly: %s%v\n", prefix, a)
	}
}
