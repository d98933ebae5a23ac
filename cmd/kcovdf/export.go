package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/report"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newExportCommand) }

// exportFormats are export's --format values.
var exportFormats = []string{"jsonl", "perfetto", "parquet", "html"}

func newExportCommand() *cobra.Command {
	var in inputFlags
	var rf redactFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "export [flags] TRACE...",
		Short: "Write traces' named calls as JSON Lines, a Perfetto trace or Parquet tables",
		Long: `export writes the named calls of one or more traces (a task each) in a
format other tools read:

  jsonl     one JSON object per call: function, arguments and return
            rendered as show prints them, raw words beside (for jq)
  perfetto  a Perfetto trace: a track per task, a slice per call nested as
            the calls were, arguments and returns as annotations, flows
            from a call that returned a value to the calls it was passed
            to; times are the records' sequence numbers read as ns
  parquet   a directory of Parquet tables (calls, args, returns, fields,
            functions, tasks, captures) for DuckDB, Spark, Trino or
            ClickHouse; "kcovdf query" runs SQL over them
  html      a self-contained HTML report

A follow-mode trace (record --follow) gives a task per traced task and
per program it ran (a call never spans an execve), with its tid, process
and name: in every JSON line, as Perfetto processes and threads, in the
tid columns of Parquet, as the report's task selector. --task keeps one.

docs/export.md gives each schema. -o - writes jsonl and perfetto to
standard output.`,
		Example: `  kcovdf export --format jsonl -o calls.jsonl --symbols vmlinux trace.kdf
  kcovdf export --format jsonl -o - --symbols vmlinux trace.kdf | jq 'select(.ret.errno > 0) | .func'
  kcovdf export --format perfetto -o trace.pftrace --symbols vmlinux trace.kdf
  kcovdf export --format parquet -o tables/ --symbols vmlinux a.kdf b.kdf`,
		Args: argsOneOrMore("TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError(cmd, "no -o given")
			}
			switch format {
			case "jsonl", "perfetto", "parquet", "html":
			case "":
				return usageError(cmd, "no --format given (want "+strings.Join(exportFormats, ", ")+")")
			default:
				return fmt.Errorf("export: --format %q: want %s", format, strings.Join(exportFormats, ", "))
			}
			if format == "parquet" && out == "-" {
				return fmt.Errorf("export: parquet writes a directory of tables: give -o DIR")
			}
			var err error
			if in.redact, err = rf.secret(); err != nil {
				return err
			}
			// The output first: a wrong path is told before the work.
			w, closeOut := cmd.OutOrStdout(), func() error { return nil }
			if out != "-" && format != "parquet" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				w, closeOut = f, f.Close
			}
			tasks, done, err := in.loadTasks(args, cmd.ErrOrStderr())
			if err != nil {
				if closeOut() == nil && out != "-" && format != "parquet" {
					os.Remove(out) // nothing was written
				}
				return err
			}
			defer done()
			switch format {
			case "jsonl":
				err = export.WriteJSONL(w, tasks)
			case "perfetto":
				err = export.WritePerfetto(w, tasks)
			case "parquet":
				err = export.WriteParquet(out, tasks)
			case "html":
				// The report holds every value's text and its histograms
				// besides the trees: room for them, or the collector runs
				// all the time.
				if lim := debug.SetMemoryLimit(-1); lim < math.MaxInt64/3 {
					debug.SetMemoryLimit(lim * 3)
				}
				err = report.WriteHTML(w, reportTasks(tasks), report.Options{})
			}
			if err = errors.Join(err, closeOut()); err != nil {
				return err
			}
			return in.fileErrs
		},
	}
	in.registerLayout(cmd)
	rf.register(cmd)
	registerTask(cmd, &in.task)
	f := cmd.Flags()
	f.StringVar(&in.format, "input-format", "auto", "record format of the traces: v1, v2, v3 or auto (from the trace file, else from the first header)")
	f.StringVar(&format, "format", "", "the format to write: "+strings.Join(exportFormats, ", "))
	f.StringVarP(&out, "output", "o", "", "the file to write (a directory for parquet; - for standard output)")
	return cmd
}

// loadTasks opens each trace as show does (layouts, symbols, names
// checked against the traced pcs) and builds its named call tree. What
// the user should know goes to ew, each line naming its file; damage
// found in a file is kept in f.fileErrs for the command to return once it
// has written what the good part holds. done releases the traces.
func (f *inputFlags) loadTasks(paths []string, ew io.Writer) (_ []*export.Task, done func(), err error) {
	var tasks []*export.Task
	var opened []*input
	done = func() {
		for _, src := range opened {
			src.trace.Close()
		}
	}
	var size int64
	for _, p := range paths {
		src, err := f.open(p)
		if err != nil {
			done()
			return nil, nil, err
		}
		opened = append(opened, src)
		size += int64(len(src.trace.Words)) * 8
		fl, err := src.follow(p, f.task)
		if err != nil {
			done()
			return nil, nil, err
		}
		var these []*export.Task
		if fl != nil {
			these = followTasks(p, src, fl)
		} else {
			these = []*export.Task{export.NewTask(p, src.trace, src.opt, nil)}
			these[0].Names = src.namer()
		}
		pcs := map[uint64]bool{}
		records := 0
		for _, t := range these {
			for i := range t.Tree.Calls {
				pcs[t.Tree.Calls[i].PC] = true
			}
			records += t.Summary.Records
		}
		warning, _ := src.names.check(pcs)
		text := func(s string) string { return s }
		if f.redact != nil {
			// One key per trace: the tasks of a follow-mode trace share
			// its kernel's addresses, and so their tokens.
			rt := f.redact.Trace(export.TaskID(src.trace))
			meta := rt.Meta(these[0].Meta)
			these[0].Names.Redact, text = rt, rt.Text
			for _, t := range these {
				t.Meta = meta
			}
		}
		tasks = append(tasks, these...)
		if records == 0 {
			done()
			return nil, nil, fmt.Errorf("%s: no records found: is it a kcovdf trace file or a raw dump of the traced area (see kcovdf decode)?", p)
		}
		prefix := ""
		if len(paths) > 1 {
			prefix = filepath.Base(p) + ": "
		}
		for _, n := range src.notes {
			fmt.Fprintln(ew, prefix+"note:", text(n))
		}
		for _, t := range these {
			for _, n := range t.Tree.Notes {
				if th := t.Thread; th != nil {
					n = threadPart(th).label() + ": " + n
				}
				fmt.Fprintln(ew, prefix+"note:", text(n))
			}
		}
		if warning != "" {
			fmt.Fprintln(ew, prefix+"warning:", text(warning))
		}
		if src.fileErr != nil {
			fmt.Fprintln(ew, prefix+"warning:", text(src.fileErr.Error()))
			f.fileErrs = errors.Join(f.fileErrs, src.fileErr)
		}
	}
	if size > 64<<20 {
		// Big traces: give back the files' bytes read so far and keep
		// the heap near a few times the words. Four, where show takes
		// two and a half: the Parquet writers' buffers come on top of
		// the trees, and a tighter limit costs a quarter more CPU in
		// collections.
		debug.FreeOSMemory()
		debug.SetMemoryLimit(size * 4)
	}
	return tasks, done, nil
}

// followTasks is a follow-mode trace's tasks for export: one per task
// and program it ran, all named by the trace's one namer.
func followTasks(path string, src *input, fl *followed) []*export.Task {
	traceID := export.TaskID(src.trace)
	var meta *abi.Meta
	if !src.trace.Raw {
		meta = &src.trace.Meta
	}
	namer := src.namer()
	markers := fl.scan().markers
	var out []*export.Task
	for _, p := range fl.parts() {
		ts := p.task
		th := &export.Thread{Tid: ts.Tid, Tgid: ts.Tgid, Ptid: ts.Ptid, Comm: p.comm, Exec: p.seg, Stream: p.stream, Root: ts.Root, Exited: ts.Exited}
		if p.last {
			th.Dropped = ts.Dropped
		}
		out = append(out, &export.Task{ID: export.ThreadID(traceID, th), Trace: path, Meta: meta,
			Tree: p.build(fl, src.trace.Words, markers), Names: namer, Summary: p.summary(fl), Thread: th})
	}
	return out
}

// argsOneOrMore wants at least one argument named name.
func argsOneOrMore(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError(cmd, "missing "+name)
		}
		return nil
	}
}

// threadLabel names a follow-mode trace's task and program as the other
// commands do: "task 12 (sh) process 10", "task 12 (ls, after execve 1)
// process 10".
func threadLabel(th *export.Thread) string {
	p := threadPart(th)
	return fmt.Sprintf("%s process %d", p.label(), th.Tgid)
}

// threadPart is as much of the part an exported task came from as its
// label needs.
func threadPart(th *export.Thread) *taskPart {
	p := &taskPart{task: &abi.TaskStream{Tid: th.Tid}, seg: th.Exec}
	p.comm = th.Comm
	return p
}

// reportTasks gives the HTML report the exported tasks, with what the
// decoder found wrong as notes.
func reportTasks(tasks []*export.Task) []report.Task {
	out := make([]report.Task, len(tasks))
	for i, t := range tasks {
		out[i] = report.Task{Name: filepath.Base(t.Trace), Meta: t.Meta, Tree: t.Tree, Namer: t.Names}
		if th := t.Thread; th != nil {
			out[i].Name += " " + threadLabel(th)
			out[i].Thread = &report.Thread{Tid: th.Tid, Tgid: th.Tgid, Ptid: th.Ptid, Comm: th.Comm, Exec: th.Exec}
			if th.Dropped > 0 {
				out[i].Notes = append(out[i].Notes, fmt.Sprintf("the task dropped %d records at its end (the buffer was full)", th.Dropped))
			}
		}
		if s := t.Summary; s != nil && s.Unattributed > 0 {
			out[i].Notes = append(out[i].Notes, fmt.Sprintf("%d words unattributed, about %d records lost", s.Unattributed, s.LostRecords))
		}
	}
	return out
}
