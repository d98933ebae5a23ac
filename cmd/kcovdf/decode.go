package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func init() { subcommands = append(subcommands, newDecodeCommand) }

func newDecodeCommand() *cobra.Command {
	var in inputFlags
	var asJSON bool
	var bench int
	var task string
	cmd := &cobra.Command{
		Use:   "decode [flags] FILE",
		Short: "Print every record of a trace file or raw area dump",
		Long: `decode prints one record a line. v2 and v3 records carry their length; v1
records (our kernel's) need the field tables of the build (--layout) to decode
exactly; without them kcovdf re-synchronises on the sequence numbers and
reports every word it could not attribute, rather than guess.`,
		Example: `  kcovdf decode trace.kdf
  kcovdf decode --layout layout.jsonl --symbols System.map trace.kdf
  kcovdf decode --json --format v3 area.bin`,
		Args: argsExactly("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := in.open(args[0])
			if err != nil {
				return err
			}
			defer src.trace.Close()
			if bench > 0 {
				return benchDecode(cmd.OutOrStdout(), src, bench)
			}
			fl, err := src.follow(args[0], task)
			if err != nil {
				return err
			}
			// Symbols of another build name a few pcs by chance: as in
			// show and stats, their names are checked against every
			// traced function before any is printed.
			var warning string
			if src.names != nil && src.names.ix != nil {
				if fl != nil {
					warning, _ = src.names.check(fl.scan().pcs)
				} else {
					warning, _ = src.names.check(src.scan().pcs)
				}
			}
			if fl != nil {
				return decodeFollow(cmd, src, fl, asJSON, warning)
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
			d := abi.NewDecoder(src.trace.Words, src.opt)
			rw := newRecordWriter(out, src, asJSON)
			for d.Next() {
				if err := rw.write(d.Record(), 0); err != nil {
					return err
				}
			}
			return finishDecode(cmd.ErrOrStderr(), out, src, warning, d.Summary())
		},
	}
	in.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object a line")
	registerTask(cmd, &task)
	cmd.Flags().IntVar(&bench, "bench", 0, "decode N times without printing and report the median throughput")
	cmd.Flags().MarkHidden("bench") // for measuring the decoder, not for users
	return cmd
}

// finishDecode flushes decode's records and says what it has to say
// after them: the setup, the symbols' warning, the anomalies.
func finishDecode(ew io.Writer, out *bufio.Writer, src *input, warning string, sum *abi.Summary) error {
	if err := out.Flush(); err != nil {
		return err
	}
	printSetup(ew, src)
	if warning != "" {
		fmt.Fprintln(ew, "warning:", warning)
	}
	printAnomalies(ew, sum, 20)
	return src.fileErr
}

// recordWriter prints records as decode does: a line each, or a JSON
// object each.
type recordWriter struct {
	out    *bufio.Writer
	enc    *json.Encoder
	names  *names
	asJSON bool
	line   []byte
}

func newRecordWriter(out *bufio.Writer, src *input, asJSON bool) *recordWriter {
	return &recordWriter{out: out, enc: json.NewEncoder(out), names: src.names, asJSON: asJSON}
}

// write prints r; tid, when not 0, is the task that wrote it.
func (rw *recordWriter) write(r *abi.Record, tid int) error {
	if rw.asJSON {
		j := jsonRecord(r)
		j.Tid, j.Func = tid, rw.names.name(r.PC)
		return rw.enc.Encode(j)
	}
	rw.line = r.Append(rw.line[:0])
	if name := rw.names.name(r.PC); name != "" {
		rw.line = append(rw.line, " fn="...)
		rw.line = append(rw.line, name...)
	}
	rw.line = append(rw.line, '\n')
	_, err := rw.out.Write(rw.line)
	return err
}

// recordJSON is the JSON form of a record.
type recordJSON struct {
	// Tid is the task that wrote the record, in a follow-mode trace.
	Tid    int      `json:"tid,omitempty"`
	Offset int      `json:"offset"`
	Kind   string   `json:"kind"`
	Seq    uint32   `json:"seq"`
	PC     string   `json:"pc"`
	Func   string   `json:"func,omitempty"`
	Arg    *uint8   `json:"arg,omitempty"`
	Size   uint8    `json:"size"`
	Ptr    string   `json:"ptr"`
	Values []string `json:"values"`
}

func jsonRecord(r *abi.Record) recordJSON {
	j := recordJSON{Offset: r.Offset, Kind: r.Kind.String(), Seq: r.Seq, PC: fmt.Sprintf("%#x", r.PC), Size: r.Size, Ptr: fmt.Sprintf("%#x", r.Ptr)}
	if r.Kind == abi.KindEntry {
		a := r.ArgIdx
		j.Arg = &a
	}
	j.Values = make([]string, len(r.Values))
	for i, v := range r.Values {
		j.Values[i] = fmt.Sprintf("%#x", v)
	}
	return j
}

func printSetup(w io.Writer, src *input) {
	for _, n := range src.notes {
		fmt.Fprintln(w, "note:", n)
	}
	if src.fileErr != nil {
		fmt.Fprintln(w, "warning:", src.fileErr)
	}
}

func printAnomalies(w io.Writer, s *abi.Summary, limit int) {
	for i, a := range s.Anomalies {
		if i == limit {
			fmt.Fprintf(w, "... %d more anomalies (kcovdf stats lists them by kind)\n", len(s.Anomalies)-limit)
			break
		}
		fmt.Fprintln(w, "anomaly:", a)
	}
	if s.Unattributed > 0 {
		fmt.Fprintf(w, "%d of %d counted words (%.3f%%) could not be attributed to a record", s.Unattributed, s.Count, 100*float64(s.Unattributed)/float64(max(s.Count, 1)))
		if s.Format == abi.FormatV1 {
			fmt.Fprint(w, "; decode with --layout for an exact result")
		}
		fmt.Fprintln(w)
	}
}

// benchDecode times the decoder on the loaded words, n runs, and prints
// the median. It counts the CPU time of the decoding thread, not wall
// time, so that other jobs on a shared machine do not count (on an idle
// one the two agree); bench/decode_v1.c does the same.
func benchDecode(w io.Writer, src *input, n int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if _, err := threadCPU(); err != nil {
		return fmt.Errorf("--bench: thread CPU clock: %w", err)
	}
	var times []time.Duration
	var records int
	for range n {
		t0, _ := threadCPU()
		d := abi.NewDecoder(src.trace.Words, src.opt)
		var sum uint64
		for d.Next() {
			r := d.Record()
			sum += uint64(r.Seq) + uint64(len(r.Values))
		}
		t1, _ := threadCPU()
		times = append(times, t1-t0)
		records = d.Summary().Records
		if sum == 0 && records > 0 {
			return fmt.Errorf("decoder produced nothing")
		}
	}
	slices.Sort(times)
	med := times[len(times)/2]
	bytes := float64(len(src.trace.Words) * 8)
	fmt.Fprintf(w, "go %s decode: %d records, %d words, median of %d runs %v CPU, %.2f GB/s\n", src.opt.Format, records, len(src.trace.Words), n, med, bytes/med.Seconds()/1e9)
	return nil
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU() (time.Duration, error) {
	var ts unix.Timespec
	err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano()), err
}
