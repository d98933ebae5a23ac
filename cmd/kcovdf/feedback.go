package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/hints"
	"github.com/kcovdf/kcovdf/signal"
)

// What signal and hints share: every trace is opened as show and stats
// open one, and its records are handed on one by one.

// feedbackTrace is one opened trace, ready to be walked.
type feedbackTrace struct {
	path  string
	src   *input
	slide uint64 // what turns the trace's pcs into link-time addresses
	types signal.Types
	// follow is the trace's tasks when it is a follow-mode one.
	follow *followed
}

// openFeedback opens a trace; task is --task, the one task of a
// follow-mode trace to take ("" for all).
func (in *inputFlags) openFeedback(path, task string) (*feedbackTrace, error) {
	src, err := in.open(path)
	if err != nil {
		return nil, err
	}
	fl, err := src.follow(path, task)
	if err != nil {
		src.trace.Close()
		return nil, err
	}
	t := &feedbackTrace{path: path, src: src, slide: src.names.space.Slide, follow: fl}
	format := src.opt.Format
	if format == abi.FormatAuto {
		format = abi.DetectFormat(src.trace.Words)
	}
	if format == abi.FormatV3 {
		t.slide = 0 // v3 stores pcs without the KASLR offset
	}
	// Types from the debug info, else as the layout spells them.
	switch ix := src.names.ix; {
	case ix != nil && (ix.Source == debuginfo.SourceDWARF || ix.Source == debuginfo.SourceBTF):
		t.types = signal.TypesFromDebugInfo(ix)
	case src.names.binding != nil:
		t.types = signal.TypesFromLayout(src.names.binding)
	}
	return t, nil
}

// walk decodes the trace and hands every record to f. In a follow-mode
// trace each task's stream is decoded on its own, and task, when set, is
// told of each task before its records. A trace in which no record could
// be decoded is an error: it is no trace of this kind.
func (t *feedbackTrace) walk(stderr io.Writer, f func(r *abi.Record), task func(ts *abi.TaskStream)) (*abi.Summary, error) {
	var sum *abi.Summary
	if fl := t.follow; fl != nil {
		sum = fl.anomalies()
		for _, ts := range fl.tasks {
			if task != nil {
				task(ts)
			}
			for i := range ts.Records {
				f(&ts.Records[i])
			}
			sum.Records += len(ts.Records)
		}
	} else {
		d := abi.NewDecoder(t.src.trace.Words, t.src.opt)
		for d.Next() {
			f(d.Record())
		}
		sum = d.Summary()
	}
	printSetup(stderr, t.src)
	printAnomalies(stderr, sum, 3)
	if sum.Records == 0 {
		return sum, fmt.Errorf("%s: no record could be decoded from its %d words: not a kcov dataflow trace or area dump, or not of --format %s; \"kcovdf stats %s\" says more", t.path, max(len(t.src.trace.Words)-1, 0), t.src.opt.Format, t.path)
	}
	return sum, nil
}

func (t *feedbackTrace) close() { t.src.trace.Close() }

// linkPC turns a slot's function id back into a link-time address: kernel
// text and modules live in the top 2 GiB, whose addresses the low 32 bits
// tell apart.
func linkPC(fn uint32) uint64 { return 0xffffffff00000000 | uint64(fn) }

// slotNames names a slot: its function, and its parameter and field by
// the debug info or the layout ("how", "flags"); "" where unknown.
func slotNames(nm *names, link uint64, s signal.Slot) (fn, param, field string) {
	if nm == nil {
		return "", "", ""
	}
	var shape *abi.FuncShape
	if nm.binding != nil {
		shape = nm.binding.Shape(link)
	}
	var f *debuginfo.Func
	if nm.ix != nil {
		f = nm.ix.At(link)
	}
	switch {
	case f != nil:
		fn = f.Name
	case shape != nil:
		fn = shape.Func
	}
	arg := int(s.Arg())
	if f != nil && f.HasSig && !s.Ret() && arg < len(f.Params) {
		param = f.Params[arg].Name
	}
	if shape != nil && param == "" && !s.Ret() {
		for _, a := range shape.Args {
			if a.Idx == arg {
				param = a.Name
			}
		}
	}
	if s.Field() < 0 {
		return fn, param, ""
	}
	// Fields as the extractor counted them: the struct's members with a
	// size, or the layout's pairs.
	if f != nil && f.HasSig {
		id := f.Ret
		if !s.Ret() {
			id = debuginfo.NoType
			if arg < len(f.Params) {
				id = f.Params[arg].Type
			}
		}
		if t := nm.ix.Type(id); t != nil {
			if t.Kind == debuginfo.KindPointer {
				t = nm.ix.Type(t.Elem)
			}
			if t != nil {
				i := 0
				for _, m := range t.Members {
					if m.Size == 0 {
						continue
					}
					if i == s.Field() {
						return fn, param, m.Name
					}
					i++
				}
			}
		}
	}
	if shape != nil {
		var fields []abi.Field
		if s.Ret() && shape.Ret != nil {
			fields = shape.Ret.Fields
		}
		for _, a := range shape.Args {
			if !s.Ret() && a.Idx == arg {
				fields = a.Fields
			}
		}
		if s.Field() < len(fields) {
			field = fields[s.Field()].Name
		}
	}
	return fn, param, field
}

// slotText is a slot as a person reads it: "arg2 (how).flags", "ret".
func slotText(s signal.Slot, param, field string) string {
	t := "ret"
	if !s.Ret() {
		t = "arg" + strconv.Itoa(int(s.Arg()))
		if param != "" {
			t += " (" + param + ")"
		}
	}
	if f := s.Field(); f >= 0 {
		if field == "" {
			field = "[" + strconv.Itoa(f) + "]"
		}
		t += "." + field
	}
	return t
}

func errnoText(e int64) string {
	if n := calls.ErrnoName(e); n != "" {
		return n
	}
	return strconv.FormatInt(e, 10)
}

// signalSlot is the slot of a hints slot, for naming.
func signalSlot(pc uint64, s hints.Slot) signal.Slot {
	return signal.MakeSlot(uint32(pc), s.Ret, uint8(s.Arg), s.Field)
}
