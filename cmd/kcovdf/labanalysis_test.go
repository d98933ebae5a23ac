package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/query"
	"google.golang.org/protobuf/encoding/protowire"
)

// TestLabExportFormats: the lab trace of cat /etc/passwd (KCOVDF_TRACE,
// with its kernel's KCOVDF_VMLINUX) in every export format, each file read
// back: the JSON Lines decode to one line per call, the Perfetto file
// walks to one slice per call, the Parquet tables hold as many rows as
// the trace has calls and records, and a DuckDB aggregate gives the count
// of do_sys_openat2 calls the call tree has. TestLabFlowDiff and
// TestLabExport cover flow, diff and the open's values; e2e's
// TestAnalysisE2E records the traces and runs them all.
func TestLabExportFormats(t *testing.T) {
	trace, vmlinux := os.Getenv("KCOVDF_TRACE"), os.Getenv("KCOVDF_VMLINUX")
	if trace == "" || vmlinux == "" {
		t.Skip("KCOVDF_TRACE and KCOVDF_VMLINUX (a lab trace of cat /etc/passwd and its kernel) not set")
	}
	task := labTask(t, trace, vmlinux)
	calls, opens, args := len(task.Tree.Calls), 0, 0
	for i := range task.Tree.Calls {
		if task.Names.Func(task.Tree.Calls[i].PC).Name == "do_sys_openat2" {
			opens++
		}
		for _, v := range task.Tree.Args(i) {
			if !v.Marker() {
				args++
			}
		}
	}
	if calls < 100 || opens == 0 {
		t.Fatalf("%s: %d calls, %d of do_sys_openat2", trace, calls, opens)
	}
	dir := t.TempDir()
	exp := func(format, out string) {
		t.Helper()
		if _, errs, err := runCLI(t, "export", "--format", format, "-o", out, "--symbols", vmlinux, trace); err != nil {
			t.Fatalf("export --format %s: %v\n%s", format, err, errs)
		}
	}

	jl := filepath.Join(dir, "calls.jsonl")
	exp("jsonl", jl)
	f, err := os.Open(jl)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	lines, openLines := 0, 0
	for sc.Scan() {
		var l export.CallLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s line %d: %v", jl, lines+1, err)
		}
		if l.Call != lines {
			t.Fatalf("line %d is call %d", lines, l.Call)
		}
		if l.Func == "do_sys_openat2" {
			openLines++
		}
		lines++
	}
	f.Close()
	if lines != calls || openLines != opens {
		t.Errorf("jsonl: %d lines, %d of do_sys_openat2; want %d, %d", lines, openLines, calls, opens)
	}

	pf := filepath.Join(dir, "trace.pftrace")
	exp("perfetto", pf)
	b, err := os.ReadFile(pf)
	if err != nil {
		t.Fatal(err)
	}
	begins, ends, names := walkPerfetto(t, b)
	if begins != calls || ends != calls || names["do_sys_openat2"] != opens {
		t.Errorf("perfetto: %d slice begins, %d ends, %d named do_sys_openat2; want %d, %d, %d", begins, ends, names["do_sys_openat2"], calls, calls, opens)
	}

	html := filepath.Join(dir, "report.html")
	exp("html", html)
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "do_sys_openat2") || strings.Contains(string(b), "http://") && strings.Contains(string(b), "<script src=") {
		t.Errorf("html: %v, %d bytes", err, len(b))
	}

	if !query.Available {
		t.Log("no cgo: the Parquet tables are not queried")
		return
	}
	tables := filepath.Join(dir, "tables")
	exp("parquet", tables)
	out, _, err := runCLI(t, "query", "--json", `SELECT (SELECT count(*) FROM calls) AS calls,
		(SELECT sum(records) FROM calls) AS records,
		(SELECT count(*) FROM args) AS args,
		(SELECT count(*) FROM calls WHERE func = 'do_sys_openat2') AS opens`, tables)
	want := fmt.Sprintf(`{"calls":%d,"records":%d,"args":%d,"opens":%d}`, calls, task.Summary.Records, args, opens)
	if err != nil || strings.TrimSpace(out) != want {
		t.Errorf("query: %v: %s, want %s", err, out, want)
	}
}

// TestLabRedact: show --redact and export --redact of the lab trace
// (KCOVDF_TRACE, KCOVDF_VMLINUX) in every format leave none of its kernel
// addresses, nor its KASLR offset.
func TestLabRedact(t *testing.T) {
	trace, vmlinux := os.Getenv("KCOVDF_TRACE"), os.Getenv("KCOVDF_VMLINUX")
	if trace == "" || vmlinux == "" {
		t.Skip("KCOVDF_TRACE and KCOVDF_VMLINUX (a lab trace of cat /etc/passwd and its kernel) not set")
	}
	flags := []string{"--symbols", vmlinux}
	addrs := kernelAddresses(t, trace, flags)
	tr, err := abi.LoadTrace(trace)
	if err != nil {
		t.Fatal(err)
	}
	slide, _ := tr.Meta.Slide()
	tr.Close()
	dir := t.TempDir()
	check := func(what string, b []byte) {
		t.Helper()
		if l := leaks(b, addrs, slide); len(l) > 0 || len(b) < 1000 {
			t.Errorf("%s (%d bytes) leaks %d of %d kernel addresses: %v", what, len(b), len(l), len(addrs), l[:min(len(l), 5)])
		}
	}
	for _, args := range [][]string{{"show"}, {"show", "--json"}} {
		out, errs, err := runCLI(t, append(append(append(args, "--redact"), flags...), trace)...)
		if err != nil {
			t.Fatal(err)
		}
		check(strings.Join(args, " "), []byte(out+errs))
	}
	for _, f := range []string{"jsonl", "perfetto", "html", "parquet"} {
		out := filepath.Join(dir, "out."+f)
		if _, errs, err := runCLI(t, append(append([]string{"export", "--redact", "--format", f, "-o", out}, flags...), trace)...); err != nil {
			t.Fatalf("%s: %v\n%s", f, err, errs)
		}
		if f != "parquet" {
			b, _ := os.ReadFile(out)
			check(f, b)
			continue
		}
		if !query.Available {
			continue
		}
		for _, table := range []string{"calls", "args", "returns", "fields", "functions", "tasks", "captures"} {
			res, _, err := runCLI(t, "query", "--json", "SELECT * FROM "+table, out)
			if err != nil {
				t.Fatal(err)
			}
			check(table+".parquet", []byte(res+strings.Repeat(".", 1000)))
		}
	}
}

// labTask reads a lab trace as export does.
func labTask(t *testing.T, trace, vmlinux string) *export.Task {
	t.Helper()
	in := inputFlags{format: "auto", symbols: vmlinux}
	tasks, done, err := in.loadTasks([]string{trace}, new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(done)
	return tasks[0]
}

// walkPerfetto counts a Perfetto trace's slice begins and ends and the
// begins by name, reading the protobuf field by field.
func walkPerfetto(t *testing.T, b []byte) (begins, ends int, names map[string]int) {
	t.Helper()
	names = map[string]int{}
	fields := func(b []byte, each func(num protowire.Number, _ protowire.Type, v []byte, n uint64)) {
		protoFields(t, b, func(num protowire.Number, v []byte, n uint64) { each(num, 0, v, n) })
	}
	fields(b, func(num protowire.Number, _ protowire.Type, packet []byte, _ uint64) {
		if num != 1 { // Trace.packet
			t.Fatalf("perfetto: Trace field %d", num)
		}
		fields(packet, func(num protowire.Number, _ protowire.Type, ev []byte, _ uint64) {
			if num != 11 { // TracePacket.track_event
				return
			}
			var typ uint64
			var name string
			fields(ev, func(num protowire.Number, _ protowire.Type, v []byte, n uint64) {
				switch num {
				case 9: // TrackEvent.type
					typ = n
				case 23: // TrackEvent.name
					name = string(v)
				}
			})
			switch typ {
			case 1: // TYPE_SLICE_BEGIN
				begins++
				names[name]++
			case 2: // TYPE_SLICE_END
				ends++
			default:
				t.Fatalf("perfetto: track event of type %s", strconv.FormatUint(typ, 10))
			}
		})
	})
	return begins, ends, names
}
