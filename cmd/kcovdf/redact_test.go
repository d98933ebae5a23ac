package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/query"
	"github.com/kcovdf/kcovdf/redact"
	"google.golang.org/protobuf/encoding/protowire"
)

// moduleText is the text address of the module the lab-like trace lists.
const moduleText = 0xffffffffc0a03000

// labLikeTrace is a simulated trace of a randomised boot, as the lab
// records one: pcs moved by the KASLR offset, the offset in the trace,
// a loaded module, and the boot's kallsyms to name the functions.
func labLikeTrace(t *testing.T, slide uint64) (trace string, flags []string) {
	trace, layout, ks := kaslrSim(t, slide, true)
	tr, err := abi.LoadTrace(trace)
	if err != nil {
		t.Fatal(err)
	}
	tr.Meta.Modules = []abi.Module{{Name: "virtio_blk", Sections: map[string]abi.Addr{".text": abi.Addr(moduleText)}}}
	tr.Meta.Command = []string{"cat", "/etc/passwd"}
	words := append([]uint64(nil), tr.Words...)
	tr.Close()
	if err := abi.SaveTrace(trace, &abi.Trace{Meta: tr.Meta, Words: words}); err != nil {
		t.Fatal(err)
	}
	return trace, []string{"--layout", layout, "--symbols", ks}
}

// kernelAddresses are the kernel addresses a trace holds: in its words,
// and every value and pc its unredacted JSON Lines export shows (struct
// pointers of v1 meta words canonicalised).
func kernelAddresses(t *testing.T, trace string, flags []string) map[uint64]bool {
	t.Helper()
	addrs := map[uint64]bool{moduleText: true}
	tr, err := abi.LoadTrace(trace)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range tr.Words {
		if calls.KernelAddress(w) {
			addrs[w] = true
		}
	}
	tr.Close()
	out, _, err := runCLI(t, append(append([]string{"export", "--format", "jsonl", "-o", "-"}, flags...), trace)...)
	if err != nil {
		t.Fatal(err)
	}
	type value struct {
		Raw    uint64 `json:"raw"`
		Fields []struct {
			Raw uint64 `json:"raw"`
		} `json:"fields"`
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			PC   string  `json:"pc"`
			Args []value `json:"args"`
			Ret  *value  `json:"ret"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		pc, _ := strconv.ParseUint(l.PC, 0, 64)
		vals := l.Args
		if l.Ret != nil {
			vals = append(vals, *l.Ret)
		}
		ws := []uint64{pc}
		for _, v := range vals {
			ws = append(ws, v.Raw)
			for _, f := range v.Fields {
				ws = append(ws, f.Raw)
			}
		}
		for _, w := range ws {
			if calls.KernelAddress(w) {
				addrs[w] = true
			}
		}
	}
	if len(addrs) < 20 {
		t.Fatalf("only %d kernel addresses in %s", len(addrs), trace)
	}
	return addrs
}

// leaks lists the kernel addresses (and the KASLR offset) found in b, in
// any form: hex either case, decimal unsigned and signed, 8 bytes either
// order, a protobuf varint. One pass over b: every number in it, and
// every 8 bytes and varint at every offset, looked up.
func leaks(b []byte, addrs map[uint64]bool, slide uint64) []string {
	found := map[string]bool{}
	hit := func(v uint64, form string) {
		if addrs[v] {
			found[fmt.Sprintf("%#x (%s)", v, form)] = true
		}
		if slide != 0 && v == slide && form != "le" && form != "be" && form != "varint" {
			found["the KASLR offset ("+form+")"] = true
		}
	}
	isHex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
	for i := 0; i < len(b); {
		if !isHex(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isHex(b[j]) {
			j++
		}
		run := string(b[i:j])
		// Every 16-digit window of a hex run, and the run itself.
		if v, err := strconv.ParseUint(run, 16, 64); err == nil {
			hit(v, "hex")
		}
		for k := 0; k+16 <= len(run); k++ {
			if v, err := strconv.ParseUint(run[k:k+16], 16, 64); err == nil {
				hit(v, "hex")
			}
		}
		if v, err := strconv.ParseUint(run, 10, 64); err == nil {
			hit(v, "decimal")
		}
		if i > 0 && b[i-1] == '-' {
			if v, err := strconv.ParseInt("-"+run, 10, 64); err == nil {
				hit(uint64(v), "signed decimal")
			}
		}
		i = j
	}
	for i := 0; i+8 <= len(b); i++ {
		hit(binary.LittleEndian.Uint64(b[i:]), "le")
		hit(binary.BigEndian.Uint64(b[i:]), "be")
	}
	for i := range b {
		if b[i] < 0x80 {
			continue // a varint of a kernel address is 10 bytes, the first with its high bit
		}
		if v, n := protowire.ConsumeVarint(b[i:]); n > 0 {
			hit(v, "varint")
		}
	}
	var out []string
	for f := range found {
		out = append(out, f)
	}
	return out
}

// TestRedact: with --redact, show, flow, diff and every export format
// leave no kernel address and no KASLR offset in what they write, on the
// small sim trace and on a lab-like one; tokens agree between runs with
// one --redact-key, and flow finds the value behind a token. query
// --redact of a trace gives the rows of its redacted export.
func TestRedact(t *testing.T) {
	const slide = 0x1e600000
	lab, labFlags := labLikeTrace(t, slide)
	for _, in := range []struct {
		name  string
		trace string
		flags []string
		slide uint64
	}{
		{"sim", "testdata/in/sim.kdf", []string{"--layout", "testdata/in/sim.jsonl"}, 0},
		{"lab-like", lab, labFlags, slide},
	} {
		t.Run(in.name, func(t *testing.T) {
			addrs := kernelAddresses(t, in.trace, in.flags)
			dir := t.TempDir()
			key := filepath.Join(dir, "key")
			with := func(args ...string) []string {
				return append(append(append(args, "--redact-key", key), in.flags...), in.trace)
			}
			check := func(what string, b []byte) {
				t.Helper()
				if len(b) < 100 {
					t.Errorf("%s: only %d bytes: %q", what, len(b), b)
				}
				if l := leaks(b, addrs, in.slide); len(l) > 0 {
					t.Errorf("%s leaks %d kernel addresses of %d: %v", what, len(l), len(addrs), l[:min(len(l), 5)])
				}
			}
			run := func(args ...string) string {
				t.Helper()
				out, errs, err := runCLI(t, args...)
				if err != nil {
					t.Fatalf("%v: %v\n%s", args, err, errs)
				}
				check(strings.Join(args[:2], " ")+" (stderr)", []byte(errs+strings.Repeat(".", 100)))
				return out
			}
			showText := run(with("show", "--max-fields", "0")...)
			check("show", []byte(showText))
			check("show --json", []byte(run(with("show", "--json")...)))
			check("show --redact", []byte(run(append(append([]string{"show", "--redact"}, in.flags...), in.trace)...)))
			if again := run(with("show", "--max-fields", "0")...); again != showText {
				t.Errorf("two runs with one key differ")
			}
			if !strings.Contains(showText, "kptr_") {
				t.Errorf("show has no token:\n%.500s", showText)
			}
			jsonl := run(with("export", "--format", "jsonl", "-o", "-")...)
			check("jsonl", []byte(jsonl))
			for _, f := range []string{"perfetto", "html"} {
				out := filepath.Join(dir, "out."+f)
				run(with("export", "--format", f, "-o", out)...)
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				check(f, b)
			}
			// A token shows the same in show and in an export.
			tok := tokenIn(t, jsonl)
			if !strings.Contains(showText, tok) {
				t.Errorf("token %s of the export is not in show's output", tok)
			}
			// flow finds the value behind a token, and shows it as such.
			out := run(append(with("flow"), tok)...)
			check("flow", []byte(out+strings.Repeat(".", 100)))
			if !strings.Contains(out, tok) || strings.Contains(out, ": 0 matches") {
				t.Errorf("flow %s:\n%.1000s", tok, out)
			}
			if _, _, err := runCLI(t, append(append([]string{"flow"}, in.flags...), in.trace, tok)...); err == nil || !strings.Contains(err.Error(), "--redact-key") {
				t.Errorf("flow of a token without the key: %v", err)
			}
			if !query.Available {
				t.Log("no cgo: the Parquet tables are not read back")
				return
			}
			tables := filepath.Join(dir, "tables")
			run(with("export", "--format", "parquet", "-o", tables)...)
			for _, table := range []string{"calls", "args", "returns", "fields", "functions", "tasks", "captures"} {
				check(table+".parquet", []byte(run("query", "--json", "SELECT * FROM "+table, tables)))
			}
			out = run("query", "--json", "SELECT count(*) AS n FROM captures WHERE kaslr_offset IS NULL", tables)
			if strings.TrimSpace(out) != `{"n":1}` {
				t.Errorf("captures keeps the KASLR offset: %s", out)
			}
			// query --redact of the trace gives the rows of the redacted
			// export: the same tokens.
			for _, table := range []string{"calls", "args", "returns", "fields", "functions", "tasks", "captures"} {
				sql := "SELECT * FROM " + table
				direct := run(with("query", "--json", sql)...)
				check("query --redact "+table, []byte(direct))
				if exported := run("query", "--json", sql, tables); direct != exported {
					t.Errorf("query --redact-key of the trace and query of its redacted export differ in %s:\n%.300s\n%.300s", table, direct, exported)
				}
			}
			if out := run(with("query", "SELECT text FROM returns WHERE text LIKE 'kptr_%'")...); !strings.Contains(out, "kptr_") {
				t.Errorf("query --redact has no token:\n%.500s", out)
			}
			// A redacted export may be queried with --redact; one written
			// without it is refused, as its tokens cannot be made again.
			run("query", "--redact", "SELECT count(*) FROM calls", tables)
			plain := filepath.Join(dir, "plain")
			if _, errs, err := runCLI(t, append(append([]string{"export", "--format", "parquet", "-o", plain}, in.flags...), in.trace)...); err != nil {
				t.Fatalf("export: %v\n%s", err, errs)
			}
			out, errs, err := runCLI(t, "query", "--redact", "SELECT pc FROM calls", plain)
			if err == nil || !strings.Contains(err.Error(), "exported without --redact") || out != "" {
				t.Errorf("query --redact of an export without it: %v\n%s%s", err, out, errs)
			}
		})
	}
	// diff redacts both traces with the first one's key.
	out, errs, err := runCLI(t, "diff", "--redact", "--top", "0", "--addresses", "--layout", "testdata/in/sim.jsonl", "testdata/in/sim.kdf", "testdata/in/sim-edited.kdf")
	if code, ok := err.(exitCodeError); !ok || code.code != 1 {
		t.Fatalf("diff: %v, want status 1\n%s", err, errs)
	}
	addrs := kernelAddresses(t, "testdata/in/sim.kdf", []string{"--layout", "testdata/in/sim.jsonl"})
	for a := range kernelAddresses(t, "testdata/in/sim-edited.kdf", []string{"--layout", "testdata/in/sim.jsonl"}) {
		addrs[a] = true
	}
	if l := leaks([]byte(out+errs), addrs, 0); len(l) > 0 {
		t.Errorf("diff leaks %v", l)
	}
}

// tokenIn is the first token of a return value in a redacted JSON Lines
// export.
func tokenIn(t *testing.T, jsonl string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Ret *struct {
				Text string `json:"text"`
				Raw  uint64 `json:"raw"`
			} `json:"ret"`
		}
		json.Unmarshal(sc.Bytes(), &l)
		if l.Ret != nil && strings.HasPrefix(l.Ret.Text, "kptr_") {
			if w, ok := redact.ParseToken(l.Ret.Text); !ok || w != l.Ret.Raw {
				t.Fatalf("token %s stands for word %#x", l.Ret.Text, l.Ret.Raw)
			}
			return l.Ret.Text
		}
	}
	t.Fatal("no return value is a token")
	return ""
}
