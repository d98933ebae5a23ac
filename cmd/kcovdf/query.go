package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/query"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newQueryCommand) }

func newQueryCommand() *cobra.Command {
	var in inputFlags
	var rf redactFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "query [flags] SQL TRACE-or-DIR...",
		Short: "Run SQL over traces' calls, arguments and returns (DuckDB over the Parquet tables)",
		Long: `query runs SQL through an embedded DuckDB over the tables of
"kcovdf export --format parquet": calls, args, returns, fields, functions,
tasks and captures (docs/export.md has their columns). Each argument is a
trace, exported to a temporary directory first, or a directory an export
wrote; the tables of all of them are queried together. The tasks of a
follow-mode trace are rows of tasks with their tid, and calls has a tid
column (--task keeps one task).

With --redact, traces are exported as "export --redact" exports them, so
the rows hold the same tokens; a directory must then come from an export
with --redact (the tokens of an export without it cannot be made again
from its tables).

query needs a kcovdf built with cgo (DuckDB is C++); the kcovdf in the lab's
guest is built without it.`,
		Example: `  # the functions that returned an errno most often
  kcovdf query --symbols vmlinux "SELECT func, errno_name, count(*) AS n FROM returns
      WHERE errno > 0 GROUP BY ALL ORDER BY n DESC LIMIT 10" trace.kdf
  # every value a field took
  kcovdf query --symbols vmlinux "SELECT text, count(*) AS n FROM fields
      WHERE func = 'do_sys_openat2' AND arg_name = 'how' AND name = 'flags' GROUP BY ALL" trace.kdf
  kcovdf query --json "SELECT * FROM tasks" tables/
  # the same tokens as export --redact-key key
  kcovdf query --redact-key key --symbols vmlinux "SELECT text, raw FROM returns LIMIT 5" trace.kdf`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				return usageError(cmd, "missing SQL TRACE-or-DIR...")
			case 1:
				return usageError(cmd, "missing TRACE-or-DIR...")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !query.Available {
				return query.ErrNoCgo
			}
			var err error
			if in.redact, err = rf.secret(); err != nil {
				return err
			}
			dirs, traces := []string{}, []string{}
			for _, a := range args[1:] {
				st, err := os.Stat(a)
				switch {
				case err != nil:
					return err
				case st.IsDir():
					dirs = append(dirs, a)
				case strings.HasSuffix(a, ".parquet"):
					return fmt.Errorf("%s: give the directory kcovdf export wrote, which holds every table", a)
				default:
					traces = append(traces, a)
				}
			}
			if in.redact != nil {
				for _, d := range dirs {
					if err := checkRedacted(cmd.Context(), d); err != nil {
						return err
					}
				}
			}
			if len(traces) > 0 {
				tmp, err := os.MkdirTemp("", "kcovdf-query-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				tasks, done, err := in.loadTasks(traces, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				err = export.WriteParquet(tmp, tasks)
				done()
				if err != nil {
					return err
				}
				dirs = append(dirs, tmp)
			}
			res, err := query.Run(cmd.Context(), args[0], dirs)
			if err != nil {
				return err
			}
			if asJSON {
				err = printQueryJSON(cmd.OutOrStdout(), res)
			} else {
				err = printQueryTable(cmd.OutOrStdout(), res)
			}
			if err != nil {
				return err
			}
			return in.fileErrs
		},
	}
	in.register(cmd)
	rf.register(cmd)
	registerTask(cmd, &in.task)
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per row")
	return cmd
}

// kernelHalf is where kernel addresses start (calls.KernelAddress).
const kernelHalf uint64 = 0xffff800000000000

// checkRedacted refuses an export directory written without --redact:
// its tables hold kernel addresses, and the tokens export would have
// written cannot be derived from them (each trace's key comes from the
// trace itself). A redacted export has tokens for every pc and no KASLR
// offset; one kernel pc or offset is enough to tell.
func checkRedacted(ctx context.Context, dir string) error {
	res, err := query.Run(ctx, fmt.Sprintf(`SELECT
		(SELECT count(*) FROM functions WHERE pc >= %d) +
		(SELECT count(*) FROM captures WHERE kaslr_offset IS NOT NULL) AS n`, kernelHalf), []string{dir})
	if err != nil {
		return err
	}
	if n := fmt.Sprint(res.Rows[0][0]); n != "0" {
		return fmt.Errorf("%s: exported without --redact, so its tables hold kernel addresses and the tokens cannot be made from them: export the traces again with --redact-key FILE and query that directory, or give the traces themselves", dir)
	}
	return nil
}

func printQueryTable(w io.Writer, res *query.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(res.Columns, "\t"))
	cells := make([]string, len(res.Columns))
	for _, row := range res.Rows {
		for i, v := range row {
			cells[i] = cellText(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cellText shows a value on one line of a table.
func cellText(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []byte:
		return fmt.Sprintf("%x", v)
	case string:
		return strings.NewReplacer("\t", `\t`, "\n", `\n`).Replace(v)
	}
	return fmt.Sprint(v)
}

func printQueryJSON(w io.Writer, res *query.Result) error {
	bw := bufio.NewWriter(w)
	for _, row := range res.Rows {
		bw.WriteByte('{')
		for i, v := range row {
			if i > 0 {
				bw.WriteByte(',')
			}
			k, _ := json.Marshal(res.Columns[i])
			bw.Write(k)
			bw.WriteByte(':')
			b, err := json.Marshal(v)
			if err != nil {
				b, _ = json.Marshal(fmt.Sprint(v))
			}
			bw.Write(b)
		}
		bw.WriteString("}\n")
	}
	return bw.Flush()
}
