package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/model"
)

// kaslrSim writes a simulated trace as a boot randomised by slide would
// have recorded it, its layout without pcs, and that boot's kallsyms.
func kaslrSim(t *testing.T, slide uint64, withOffset bool) (trace, layout, kallsyms string) {
	t.Helper()
	cfg := model.DefaultSimConfig()
	cfg.Words, cfg.Seed = 16384, 5
	res, err := model.Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Truth {
		res.Area[s.Offset+1] += slide
	}
	dir := t.TempDir()
	trace, layout, kallsyms = filepath.Join(dir, "k.kdf"), filepath.Join(dir, "k.jsonl"), filepath.Join(dir, "kallsyms")
	meta := abi.Meta{Format: abi.FormatV1, BufferWords: len(res.Area)}
	if withOffset {
		meta.KASLROffset = abi.KnownKASLROffset(slide)
	}
	if err := abi.SaveTrace(trace, &abi.Trace{Meta: meta, Words: res.Area}); err != nil {
		t.Fatal(err)
	}
	var ks strings.Builder
	fmt.Fprintf(&ks, "%x T _text\n", uint64(debuginfo.LinkText)+slide)
	for i := range res.Layout.Funcs {
		f := &res.Layout.Funcs[i]
		pc, _, _ := f.Addr()
		fmt.Fprintf(&ks, "%x t %s\n", pc+slide, f.Func)
		f.PC = "" // names only: the addresses come from kallsyms
	}
	os.WriteFile(kallsyms, []byte(ks.String()), 0o644)
	lf, _ := os.Create(layout)
	res.Layout.Write(lf)
	lf.Close()
	return trace, layout, kallsyms
}

// TestKASLRKallsymsNamesEveryFunction: a trace of a randomised boot and
// that boot's kallsyms decode exactly and name every function, with or
// without the offset in the trace.
func TestKASLRKallsymsNamesEveryFunction(t *testing.T) {
	for _, withOffset := range []bool{true, false} {
		t.Run(fmt.Sprintf("offset in trace %v", withOffset), func(t *testing.T) {
			trace, layout, ks := kaslrSim(t, 0x200000, withOffset)
			out, errs, err := runCLI(t, "stats", "--top", "1000", "--layout", layout, "--symbols", ks, trace)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`(?m)^exact +yes$`).MatchString(out) {
				t.Fatalf("not exact:\n%s\n%s", out, errs)
			}
			rows := regexp.MustCompile(`(?m)^0x[0-9a-f]+ +(\S+) `).FindAllStringSubmatch(out, -1)
			if len(rows) < 10 {
				t.Fatalf("only %d function rows:\n%s", len(rows), out)
			}
			for _, r := range rows {
				if r[1] == "?" || !strings.HasPrefix(r[1], "sim_") && !strings.Contains(r[1], "_") {
					t.Fatalf("unnamed function row %q:\n%s", r[0], out)
				}
			}
			if !withOffset && !strings.Contains(errs, "assuming") {
				t.Errorf("the assumed offset must be noted: %s", errs)
			}
		})
	}
}

func TestShow(t *testing.T) {
	trace, layout, ks := kaslrSim(t, 0x200000, true)
	out, errs, err := runCLI(t, "show", "--layout", layout, "--symbols", ks, trace)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 50 {
		t.Fatalf("%d lines:\n%s\n%s", len(lines), out, errs)
	}
	// Every line is a call, an opened call or a closing brace, and the
	// braces balance.
	callRE := regexp.MustCompile(`^( *)(\??[A-Za-z_][A-Za-z0-9_.]*)\((.*)\)( \{| = .*;|;| /\* no return \*/;)$`)
	closeRE := regexp.MustCompile(`^( *)\}( = .*| /\* no return \*/)?$`)
	open := 0
	for _, l := range lines {
		switch {
		case callRE.MatchString(l):
			if strings.HasSuffix(l, "{") {
				open++
			}
		case closeRE.MatchString(l):
			open--
		default:
			t.Fatalf("line %q is neither a call nor a closing brace", l)
		}
		if strings.Contains(l, "\x1b[") {
			t.Fatal("colour when not on a terminal")
		}
	}
	if open != 0 {
		t.Fatalf("%d blocks left open", open)
	}
	// --depth 1 shows top-level calls only, one line each.
	out, _, err = runCLI(t, "show", "--depth", "1", "--layout", layout, "--symbols", ks, trace)
	if err != nil || strings.Contains(out, " {\n") || strings.HasPrefix(out, " ") || strings.Contains(out, "\n ") {
		t.Fatalf("--depth 1: %v\n%s", err, out)
	}
	// --json: one object per call, parents before children.
	out, _, err = runCLI(t, "show", "--json", "--layout", layout, "--symbols", ks, trace)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	n := 0
	var firstFunc string
	for sc.Scan() {
		var c callJSON
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		if c.Parent >= 0 && !seen[int(c.Parent)] {
			t.Fatalf("call %d before its parent %d", c.Index, c.Parent)
		}
		if c.Func == "" {
			t.Fatalf("unnamed call %+v", c)
		}
		if n == 0 {
			firstFunc = c.Func
		}
		seen[c.Index] = true
		n++
	}
	if n < len(lines)/2 {
		t.Fatalf("%d JSON calls for %d lines", n, len(lines))
	}
	// --func shows only that function's calls at the left margin.
	out, _, err = runCLI(t, "show", "--func", "^"+regexp.QuoteMeta(firstFunc)+"$", "--layout", layout, "--symbols", ks, trace)
	if err != nil || !strings.HasPrefix(out, firstFunc+"(") {
		t.Fatalf("--func %s: %v\n%.300s", firstFunc, err, out)
	}
	// --errors: every shown leaf returned an error.
	out, _, err = runCLI(t, "show", "--errors", "--layout", layout, "--symbols", ks, trace)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasSuffix(l, ";") && !strings.Contains(l, "= -E") && !strings.Contains(l, "ERR_PTR(") && !regexp.MustCompile(`= -\d+;$`).MatchString(l) {
			t.Fatalf("--errors shows a leaf that did not fail: %q", l)
		}
	}
	out, _, err = runCLI(t, "show", "--color", "always", "--depth", "1", "--layout", layout, "--symbols", ks, trace)
	if err != nil || !strings.HasPrefix(out, ansiFunc) || !strings.Contains(out, ansiReset+"(") {
		t.Fatalf("--color always: %v %q", err, out[:min(len(out), 80)])
	}
	if _, _, err := runCLI(t, "show", "--where", "nonsense", trace); err == nil {
		t.Fatal("a malformed --where must be an error")
	}
}

func TestWhere(t *testing.T) {
	cases := []struct {
		have, op, want string
		ok             bool
	}{
		{"4096", "==", "4096", true},
		{"4096", "==", "0x1000", true},
		{"-ENOENT", "==", "-2", true},
		{"-ENOENT", "==", "-ENOENT", true},
		{"ERR_PTR(-ENOMEM)", "==", "-ENOMEM", true},
		{"NULL", "==", "0", true},
		{"3", ">", "2", true},
		{"3", "<", "2", false},
		{"STATE_RUN", "==", "STATE_RUN", true},
		{"STATE_RUN", "!=", "STATE_IDLE", true},
	}
	for _, c := range cases {
		t.Run(c.have+" "+c.op+" "+c.want, func(t *testing.T) {
			if got := compare(c.have, c.op, c.want); got != c.ok {
				t.Errorf("%s %s %s = %v", c.have, c.op, c.want, got)
			}
		})
	}
	p, err := parseWhere("how.flags == 0x8000")
	if err != nil || len(p.path) != 2 || p.path[1] != "flags" || p.op != "==" || p.value != "0x8000" {
		t.Fatalf("%+v %v", p, err)
	}
}

// TestWrongSymbolsAreNotTrusted: symbols of another build name a few
// addresses by chance; kcovdf must warn and show none of those names.
func TestWrongSymbolsAreNotTrusted(t *testing.T) {
	trace, _, ks := kaslrSim(t, 0x200000, true)
	data, err := os.ReadFile(ks)
	if err != nil {
		t.Fatal(err)
	}
	// Another build: every function but a few moved by 16 bytes.
	var moved strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var addr uint64
		var kind, name string
		fmt.Sscanf(line, "%x %s %s", &addr, &kind, &name)
		if name != "_text" && i%10 != 0 {
			addr += 16
		}
		fmt.Fprintf(&moved, "%x %s %s\n", addr, kind, name)
	}
	wrong := filepath.Join(t.TempDir(), "kallsyms")
	os.WriteFile(wrong, []byte(moved.String()), 0o644)
	for _, c := range []string{"show", "stats", "decode"} {
		out, errs, err := runCLI(t, c, "--symbols", wrong, trace)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`warning: \d+ of \d+ traced functions \([1-9]\d\.\d%\) start at no function of .*names are not shown`).MatchString(errs) {
			t.Fatalf("%s: no warning with the mismatch rate:\n%s", c, errs)
		}
		if regexp.MustCompile(`(?m)^ *[a-z_]+[a-z_0-9]*\(`).MatchString(out) || regexp.MustCompile(`(?m)^0x[0-9a-f]+ +[a-z_]`).MatchString(out) || strings.Contains(out, "fn=") {
			t.Fatalf("%s shows names from the wrong symbols:\n%.500s", c, out)
		}
		if c == "decode" && strings.Count(out, "\n") < 1000 {
			t.Fatalf("decode printed %d records", strings.Count(out, "\n"))
		}
	}
	// The right symbols: decode names every record, with no warning.
	out, errs, err := runCLI(t, "decode", "--symbols", ks, trace)
	if err != nil || strings.Contains(errs, "warning:") || strings.Count(out, " fn=") != strings.Count(out, "\n") {
		t.Fatalf("decode with the boot's kallsyms: %v\n%s\n%.500s", err, errs, out)
	}
}

// TestLabTraceShow reads a real lab trace of `cat /etc/passwd`
// (KCOVDF_TRACE, with KCOVDF_VMLINUX and its layout.jsonl beside it):
// every traced function is named, and the open of the file reads as C.
func TestLabTraceShow(t *testing.T) {
	trace, vmlinux := os.Getenv("KCOVDF_TRACE"), os.Getenv("KCOVDF_VMLINUX")
	if trace == "" || vmlinux == "" {
		t.Skip("KCOVDF_TRACE and KCOVDF_VMLINUX (a lab trace of cat /etc/passwd and its kernel) not set")
	}
	layout := filepath.Join(filepath.Dir(vmlinux), "layout.jsonl")
	out, errs, err := runCLI(t, "stats", "--top", "100000", "--layout", layout, "--symbols", vmlinux, trace)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errs, "warning:") || regexp.MustCompile(`(?m)^0x[0-9a-f]+ +\? `).MatchString(out) || !regexp.MustCompile(`(?m)^exact +yes$`).MatchString(out) {
		t.Fatalf("stats: unnamed functions or not exact:\n%s\n%s", out, errs)
	}
	out, _, err = runCLI(t, "show", "--max-fields", "0", "--func", "^do_sys_openat2$", "--depth", "1", "--layout", layout, "--symbols", vmlinux, trace)
	if err != nil {
		t.Fatal(err)
	}
	// The vmlinux alone (layouts derived from its DWARF) decodes the
	// trace exactly as the plugin's layout does.
	withLayout, _, err := runCLI(t, "decode", "--layout", layout, "--symbols", vmlinux, trace)
	if err != nil {
		t.Fatal(err)
	}
	vmlinuxOnly, _, err := runCLI(t, "decode", "--symbols", vmlinux, trace)
	if err != nil || vmlinuxOnly != withLayout {
		t.Fatalf("decoding with the vmlinux alone differs from decoding with the plugin's layout (%v)", err)
	}
	want := "do_sys_openat2(dfd=-100, filename=0x"
	if !strings.HasPrefix(out, want) || !strings.Contains(out, ", how={flags=0x8000, mode=0, resolve=0}) = 3;") {
		t.Fatalf("the open of /etc/passwd:\n%s", out)
	}
}

// TestModulesNamed: module pcs are named from their .ko, placed where
// the trace says the module's sections were loaded.
func TestModulesNamed(t *testing.T) {
	const text = 0xffffffffc0001000
	w := []uint64{0}
	for i, r := range []abi.Record{
		{Kind: abi.KindEntry, PC: text, ArgIdx: 0, Size: 8, Ptr: 0xffff888000001000, Values: []uint64{1, 4096}},
		{Kind: abi.KindEntry, PC: text, ArgIdx: 1, Size: 4, Values: []uint64{0}},
		{Kind: abi.KindReturn, PC: text, Size: 4, Values: []uint64{1}},
	} {
		r.Seq = uint32(i + 1)
		w = abi.EncodeV2(w, &r)
	}
	w[0] = uint64(len(w) - 1)
	trace := filepath.Join(t.TempDir(), "m.kdf")
	meta := abi.Meta{Format: abi.FormatV2, KASLROffset: abi.KnownKASLROffset(0), BufferWords: len(w),
		Modules: []abi.Module{{Name: "fixture", Sections: map[string]abi.Addr{".text": abi.Addr(text), ".text.unlikely": 0xffffffffc0008000}}}}
	if err := abi.SaveTrace(trace, &abi.Trace{Meta: meta, Words: w}); err != nil {
		t.Fatal(err)
	}
	out, errs, err := runCLI(t, "show", "--symbols", "../../debuginfo/testdata/fixture.elf", "--modules", "../../debuginfo/testdata", trace)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "mod_submit(r={op=1, len=4096}, flags=0) = 1;" || !strings.Contains(errs, "modules: 1 of 1 named") {
		t.Fatalf("out %q\nerrs %s", out, errs)
	}
}
