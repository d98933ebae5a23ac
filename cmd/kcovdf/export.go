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
		t := export.NewTask(p, src.trace, src.opt, nil)
		pcs := map[uint64]bool{}
		for i := range t.Tree.Calls {
			pcs[t.Tree.Calls[i].PC] = true
		}
		warning, _ := src.names.check(pcs)
		t.Names = src.namer()
		text := func(s string) string { return s }
		if f.redact != nil {
			rt := f.redact.Trace(t.ID)
			t.Names.Redact, t.Meta, text = rt, rt.Meta(t.Meta), rt.Text
		}
		tasks = append(tasks, t)
		if t.Summary.Records == 0 {
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
		for _, n := range t.Tree.Notes {
			fmt.Fprintln(ew, prefix+"note:", text(n))
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

// argsOneOrMore wants at least one argument named name.
func argsOneOrMore(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError(cmd, "missing "+name)
		}
		return nil
	}
}

// reportTasks gives the HTML report the exported tasks, with what the
// decoder found wrong as notes.
func reportTasks(tasks []*export.Task) []report.Task {
	out := make([]report.Task, len(tasks))
	for i, t := range tasks {
		out[i] = report.Task{Name: filepath.Base(t.Trace), Meta: t.Meta, Tree: t.Tree, Namer: t.Names}
		if s := t.Summary; s != nil && s.Unattributed > 0 {
			out[i].Notes = append(out[i].Notes, fmt.Sprintf("%d words unattributed, about %d records lost", s.Unattributed, s.LostRecords))
		}
	}
	return out
}
