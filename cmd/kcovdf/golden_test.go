package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/internal/golden"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The CLI's output, kept under testdata/golden/ and rewritten with
// "go test ./cmd/kcovdf -update". The inputs under testdata/in/ were
// made once with "kcovdf sim" and are never rewritten:
//
//	kcovdf sim --words 2048 --seed 3 --functions 40 -o sim.kdf --layout-out sim.jsonl
//	kcovdf sim --words 2048 --seed 4 --functions 40 --out-format v3 -o "" --raw-out sim-v3.bin
//	head -c 15656 sim.kdf >cut.kdf
//	kcovdf sim --follow --words 2048 --chunk-words 128 --seed 5 --functions 40 --calls 3 --depth 3 -o follow.kdf --layout-out follow.jsonl
//	kcovdf sim --follow --words 1024 --chunk-words 64 --seed 6 --functions 40 --depth 2 -o follow-full.kdf --layout-out follow-full.jsonl
//	head -c 5800 follow.kdf >follow-cut.kdf
//
// capped.jsonl is abi/testdata/capped/capped.jsonl with a pc per function.
// kcov.kdf and kcov.map are sim.kdf with made-up classic kcov PCs and a
// System.map of its functions (kcov_test.go says how they were made).

// transcript runs kcovdf with args as main does and returns what a
// terminal would show: stdout, stderr (with main's error line) and the
// exit status. tmp, when set, is replaced by $TMP.
func transcript(t *testing.T, tmp string, args ...string) []byte {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	status := exitStatus(&errb, cmd, err)
	var b bytes.Buffer
	shown := make([]string, len(args))
	for i, a := range args {
		shown[i] = a
		if a == "" || strings.ContainsAny(a, " \"'") {
			shown[i] = strconv.Quote(a)
		}
	}
	fmt.Fprintf(&b, "$ kcovdf %s\n", strings.Join(shown, " "))
	fmt.Fprintf(&b, "--- stdout\n%s--- stderr\n%s--- exit status %d\n", out.String(), errb.String(), status)
	if tmp == "" {
		return b.Bytes()
	}
	return bytes.ReplaceAll(b.Bytes(), []byte(tmp), []byte("$TMP"))
}

func TestGoldenOutput(t *testing.T) {
	const (
		trace  = "testdata/in/sim.kdf"
		layout = "testdata/in/sim.jsonl"
		v3     = "testdata/in/sim-v3.bin"
		cut    = "testdata/in/cut.kdf"
		// kcov.kdf: sim.kdf with classic kcov PCs, named by kcov.map.
		kcovTrace = "testdata/in/kcov.kdf"
		kcovMap   = "testdata/in/kcov.map"
		// follow.kdf: a follow-mode trace of four tasks.
		followTrace  = "testdata/in/follow.kdf"
		followLayout = "testdata/in/follow.jsonl"
	)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"decode-exact", []string{"decode", "--layout", layout, trace}},
		{"decode-resync", []string{"decode", trace}},
		{"decode-json", []string{"decode", "--json", "--layout", layout, trace}},
		{"decode-v3-raw", []string{"decode", "--format", "v3", v3}},
		{"decode-cut", []string{"decode", "--layout", layout, cut}},
		{"stats", []string{"stats", "--layout", layout, trace}},
		{"stats-resync", []string{"stats", "--top", "5", trace}},
		{"stats-json", []string{"stats", "--json", "--top", "3", "--layout", layout, trace}},
		{"show", []string{"show", "--layout", layout, trace}},
		{"show-where", []string{"show", "--where", "a2.f1==0x98", "--where", "ret!=0", "--layout", layout, trace}},
		{"show-func-json", []string{"show", "--json", "--func", "^vfs_update_34$", "--depth", "2", "--max-fields", "2", "--layout", layout, trace}},
		{"stats-kcov", []string{"stats", "--top", "5", "--symbols", kcovMap, "--layout", layout, kcovTrace}},
		{"stats-kcov-json", []string{"stats", "--json", "--top", "3", "--symbols", kcovMap, "--layout", layout, kcovTrace}},
		{"stats-kcov-nosymbols", []string{"stats", "--top", "2", "--layout", layout, kcovTrace}},
		{"show-pcs", []string{"show", "--pcs", "--depth", "2", "--max-fields", "1", "--func", "^vfs_open_5$", "--symbols", kcovMap, "--layout", layout, kcovTrace}},
		{"show-pcs-json", []string{"show", "--pcs", "--json", "--func", "^vma_write_22$", "--symbols", kcovMap, "--layout", layout, kcovTrace}},
		{"layout-lengths", []string{"layout", "lengths", layout}},
		{"layout-lengths-json", []string{"layout", "lengths", "--json", layout}},
		// The plugin's layout of compiler/tests/capped.c (a cap of 3),
		// with made-up pcs.
		{"layout-lengths-capped", []string{"layout", "lengths", "--json", "testdata/in/capped.jsonl"}},
		{"conformance-model", []string{"conformance", "--model"}},
		// Follow mode: a shell, its child that execs, the child's two
		// threads; a buffer the tree filled; a file cut mid-record.
		{"follow-stats", []string{"stats", "--top", "5", "--layout", followLayout, followTrace}},
		{"follow-stats-json", []string{"stats", "--json", "--top", "2", "--layout", followLayout, followTrace}},
		{"follow-stats-task", []string{"stats", "--task", "worker", "--top", "3", "--layout", followLayout, followTrace}},
		{"follow-stats-full", []string{"stats", "--top", "3", "--layout", "testdata/in/follow-full.jsonl", "testdata/in/follow-full.kdf"}},
		{"follow-show", []string{"show", "--max-fields", "2", "--layout", followLayout, followTrace}},
		{"follow-show-task-json", []string{"show", "--json", "--task", "3", "--max-fields", "1", "--layout", followLayout, followTrace}},
		{"follow-decode-task", []string{"decode", "--task", "2", "--layout", followLayout, followTrace}},
		{"follow-cut", []string{"stats", "--top", "2", "--layout", followLayout, "testdata/in/follow-cut.kdf"}},
		{"follow-cut-show", []string{"show", "--task", "1", "--depth", "1", "--max-fields", "1", "--layout", followLayout, "testdata/in/follow-cut.kdf"}},
		// The other commands on follow-mode traces: per task.
		{"follow-signal", []string{"signal", "--top", "3", "--layout", followLayout, followTrace}},
		{"follow-hints-task", []string{"hints", "--task", "3", "--max-per-pc", "1", "--max-values-per-slot", "1", "--layout", followLayout, followTrace}},
		{"follow-export-jsonl-task", []string{"export", "--format", "jsonl", "-o", "-", "--task", "3", "--layout", followLayout, followTrace}},
		{"follow-flow", []string{"flow", "--layout", followLayout, followTrace, "0x3"}},
		{"follow-diff-cut", []string{"diff", "--top", "2", "--layout", followLayout, followTrace, "testdata/in/follow-cut.kdf"}},
		{"follow-diff-single", []string{"diff", "--top", "1", "--task", "2", trace, followTrace}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := transcript(t, "", c.args...)
			if c.name == "conformance-model" {
				// The run's duration is the one varying figure.
				out = regexpDuration.ReplaceAll(out, []byte(" in DURATION"))
			}
			golden.Check(t, c.name+".txt", out)
		})
	}
}

var regexpDuration = regexp.MustCompile(` in [0-9.]+[µmn]?s`)

// TestGoldenShowTyped: show renders values by their DWARF types (the
// fixture ELF of debuginfo's tests): signed and unsigned integers, enum
// names, bitfields, <fault>, NULL, ERR_PTR, errnos by name, a call
// without parameters, a call that never returned; and --where, --errors
// and --json select and print the same calls.
func TestGoldenShowTyped(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "typed.kdf")
	writeTypedTrace(t, trace)
	const elf = "../../debuginfo/testdata/fixture.elf"
	var all bytes.Buffer
	for _, args := range [][]string{
		{"show", "--symbols", elf, trace},
		{"show", "--errors", "--symbols", elf, trace},
		{"show", "--where", "how.flags==0x8000", "--symbols", elf, trace},
		{"show", "--where", "s==STATE_RUN", "--where", "ret==true", "--symbols", elf, trace},
		{"show", "--where", "ret==-ENOENT", "--symbols", elf, trace},
		{"show", "--where", "f==NULL", "--symbols", elf, trace},
		{"show", "--where", "dfd<0", "--depth", "1", "--symbols", elf, trace},
		{"show", "--where", "nosuch==1", "--symbols", elf, trace},
		{"show", "--where", "how.flags=>1", "--symbols", elf, trace},
		{"show", "--json", "--func", "^set_flags$", "--max-fields", "2", "--symbols", elf, trace},
		{"decode", "--symbols", elf, trace},
	} {
		all.Write(transcript(t, dir, args...))
		all.WriteByte('\n')
	}
	golden.Check(t, "show-typed.txt", all.Bytes())
}

// typedSlide moves the fixture's functions (linked at 0x401000) into the
// kernel's text, where the decoder expects pcs.
const typedSlide = 0xffffffff81000000 - 0x400000

// writeTypedTrace writes a v2 trace of calls of the fixture's functions,
// as a boot that moved them by typedSlide would have recorded them (the
// trace's KASLR offset says by how much).
func writeTypedTrace(t *testing.T, path string) {
	t.Helper()
	ix, err := debuginfo.Open("../../debuginfo/testdata/fixture.elf", debuginfo.Options{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	pc := map[string]uint64{}
	for _, f := range ix.Funcs {
		if f.Name == "helper" && (len(f.Params) == 0 || f.Params[0].Name != "x") {
			continue // the other unit's helper(struct big *)
		}
		pc[f.Name] = f.Low + typedSlide
	}
	neg := func(v int64) uint64 { return uint64(v) }
	entry := func(fn string, idx, size uint8, ptr uint64, vals ...uint64) abi.Record {
		return abi.Record{Kind: abi.KindEntry, PC: pc[fn], ArgIdx: idx, Size: size, Ptr: ptr, Values: vals}
	}
	ret := func(fn string, size uint8, v uint64) abi.Record {
		return abi.Record{Kind: abi.KindReturn, PC: pc[fn], Size: size, Values: []uint64{v}}
	}
	recs := []abi.Record{
		// do_open(AT_FDCWD, filename, &{O_RDONLY|O_LARGEFILE, 0, 0}) = 32768
		entry("do_open", 0, 4, 0, 0xffffff9c), entry("do_open", 1, 8, 0, 0x7ffe0010),
		entry("do_open", 2, 8, 0xffff888000001000, 0x8000, 0, 0),
		// set_flags(f = {ro 1, mode 5, delta -3, tail 7, inner <fault>}, STATE_RUN, 0644) = true
		entry("set_flags", 0, 8, 0xffff888000002000, 0xdb, 0xdb, 0x1db, 7, abi.BadAddr),
		entry("set_flags", 1, 4, 0, 3), entry("set_flags", 2, 2, 0, 0644), ret("set_flags", 1, 1),
		// no_args(): the no-parameter and void markers
		entry("no_args", 0, 0, 0, 0), ret("no_args", 0, 0),
		// helper(1) = -ENOENT
		entry("helper", 0, 4, 0, 1), ret("helper", 4, neg(-2)&0xffffffff),
		ret("do_open", 8, 0x8000),
		// by_value(how, w, -1) = 6
		entry("by_value", 0, 24, 0, 1, 2, 3), entry("by_value", 1, 8, 0, 5), entry("by_value", 2, 1, 0, 0xff),
		ret("by_value", 8, 6),
		// set_flags(ERR_PTR(-ENOMEM), 7, 0) = false; set_flags(NULL, STATE_DEAD, 0755) = false
		entry("set_flags", 0, 8, neg(-12), abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr),
		entry("set_flags", 1, 4, 0, 7), entry("set_flags", 2, 2, 0, 0), ret("set_flags", 1, 0),
		entry("set_flags", 0, 8, 0, abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr),
		entry("set_flags", 1, 4, 0, 0xffffffff), entry("set_flags", 2, 2, 0, 0755), ret("set_flags", 1, 0),
		// do_open(3, NULL, NULL) never returns: the trace ends in it
		entry("do_open", 0, 4, 0, 3), entry("do_open", 1, 8, 0, 0), entry("do_open", 2, 8, 0, 0),
	}
	w := []uint64{0}
	for i := range recs {
		recs[i].Seq = uint32(i + 1)
		w = abi.EncodeV2(w, &recs[i])
	}
	w[0] = uint64(len(w) - 1)
	meta := abi.Meta{Format: abi.FormatV2, KASLROffset: abi.KnownKASLROffset(typedSlide), BufferWords: 4096}
	if err := abi.SaveTrace(path, &abi.Trace{Meta: meta, Words: w}); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenSim: sim's report, and files identical to the checked-in
// inputs that were made with the same flags (the trace file's capture
// time aside, so the raw area is compared).
func TestGoldenSim(t *testing.T) {
	dir := t.TempDir()
	area, lay := filepath.Join(dir, "area.bin"), filepath.Join(dir, "l.jsonl")
	out := transcript(t, dir, "sim", "--words", "2048", "--seed", "3", "--functions", "40", "-o", "", "--raw-out", area, "--layout-out", lay)
	golden.Check(t, "sim.txt", out)
	want, err := os.ReadFile("testdata/in/sim.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(lay); err != nil || !bytes.Equal(got, want) {
		t.Errorf("sim --layout-out differs from testdata/in/sim.jsonl (%v):\n%s", err, golden.Diff(want, got))
	}
	in, err := abi.LoadTrace("testdata/in/sim.kdf")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if got, err := os.ReadFile(area); err != nil || !bytes.Equal(got, wordBytes(in.Words)) {
		t.Errorf("sim --raw-out differs from the words of testdata/in/sim.kdf (%v)", err)
	}
	out = transcript(t, dir, "sim", "--words", "2048", "--seed", "4", "--functions", "40", "--out-format", "v3", "-o", "", "--raw-out", area)
	golden.Check(t, "sim-v3.txt", out)
	if want, err = os.ReadFile("testdata/in/sim-v3.bin"); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(area); err != nil || !bytes.Equal(got, want) {
		t.Errorf("sim --out-format v3 --raw-out differs from testdata/in/sim-v3.bin")
	}
}

// TestGoldenErrors: every wrong use gets one style of message.
func TestGoldenErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, args := range [][]string{
		{"decode"},
		{"decode", "a", "b"},
		{"stats"},
		{"sim", "extra"},
		{"sim", "-o", "", "--out-format", "v9"},
		{"layout", "lengths"},
		{"layout", "nosuch"},
		{"latency", "x"},
		{"latency", "--calls", "0"},
		{"latency", "--trace", "--device", plain},
		{"conformance", "extra"},
		{"conformance", "--device", filepath.Join(dir, "missing")},
		{"record"},
		{"record", "--device", filepath.Join(dir, "missing"), "--", "true"},
		{"record", "--device", plain, "--words", "1000", "--", "true"},
		{"decode", "--format", "v9", "testdata/in/sim.kdf"},
		{"decode", filepath.Join(dir, "missing.kdf")},
		{"stats", "--layout", filepath.Join(dir, "missing.jsonl"), "testdata/in/sim.kdf"},
		{"show", "--pcs", "testdata/in/sim.kdf"},
		{"show", "--pcs", "--layout", "testdata/in/sim.jsonl", "testdata/in/kcov.kdf"},
		{"feedback", "--runs", "0"},
		{"feedback", "extra"},
		{"record", "--kcov", "--device", filepath.Join(dir, "missing"), "--", "true"},
		{"symbolize", "0xffffffff81000000"},
		{"stats", "--task", "1", "testdata/in/sim.kdf"},
		{"show", "--task", "nosuch", "testdata/in/follow.kdf"},
		{"show", "--pcs", "testdata/in/follow.kdf"},
		{"sim", "--follow", "-o", "", "--out-format", "v3"},
		{"sim", "--follow", "-o", "", "--chunk-words", "100"},
	} {
		all.Write(transcript(t, dir, args...))
		all.WriteByte('\n')
	}
	golden.Check(t, "errors.txt", all.Bytes())
}

// TestGoldenHelp keeps every command's help, so that a flag renamed or a
// default changed shows in review. lab's commands are left out: their
// help names the build host's cache.
func TestGoldenHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	var paths [][]string
	walk = func(c *cobra.Command) {
		if c.Name() == "lab" || c.Name() == "completion" || c.Name() == "help" {
			return
		}
		paths = append(paths, strings.Fields(c.CommandPath())[1:])
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCommand())
	if len(paths) < 8 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		name := strings.Join(append([]string{"kcovdf"}, p...), "-")
		t.Run(name, func(t *testing.T) {
			golden.Check(t, "help/"+name+".txt", transcript(t, "", append(p, "--help")...))
		})
	}
}

// TestUsageLines: "[flags]" at most once, right after the command's
// name, for every command, lab's included (a command whose only flag is
// --help, added at run time, has none here).
func TestUsageLines(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && c.Name() != "help" {
			u := c.UseLine()
			if n := strings.Count(u, "[flags]"); n > 1 || n == 1 && !strings.HasPrefix(u, c.CommandPath()+" [flags]") {
				t.Errorf("usage line %q: want %q once, right after the name", u, "[flags]")
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCommand())
}

// TestFlagConventions: one meaning and one default for each shared flag,
// on every command, lab's included.
func TestFlagConventions(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			where := c.CommandPath() + " --" + f.Name
			switch {
			case len(f.Name) == 1:
				t.Errorf("%s: a one-letter long flag", where)
			case f.Name == "output" && f.Shorthand != "o", f.Shorthand == "o" && f.Name != "output":
				t.Errorf("%s: -o is --output, and --output is -o", where)
			case f.Name == "words" && f.DefValue != fmt.Sprint(defaultWords):
				t.Errorf("%s: default %s, want %d as everywhere", where, f.DefValue, defaultWords)
			case f.Name == "rounds" && f.DefValue != fmt.Sprint(defaultRounds),
				// --calls per round of a timing command (sim's counts
				// the calls it makes up).
				f.Name == "calls" && c.LocalFlags().Lookup("rounds") != nil && f.DefValue != fmt.Sprint(defaultCalls):
				t.Errorf("%s: default %s, want latency's, which lab bench passes on", where, f.DefValue)
			case f.Name == "symbols" && f.DefValue != "":
				t.Errorf("%s: default %q, want none as everywhere", where, f.DefValue)
			case f.Name == "format" && !strings.Contains(f.Usage, "of the input") && c.CommandPath() != "kcovdf export":
				// export's --format is the format it writes (its input's
				// is --input-format).
				t.Errorf("%s: --format is the input's record format only (%q)", where, f.Usage)
			case f.Name == "json" && f.Value.Type() != "bool":
				t.Errorf("%s: --json is a switch", where)
			}
		})
		if !strings.HasPrefix(c.CommandPath(), "kcovdf lab") {
			c.InheritedFlags().VisitAll(func(f *pflag.Flag) {
				t.Errorf("%s: inherits --%s; lab's flags stay on lab", c.CommandPath(), f.Name)
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCommand())
}

// wordBytes is the little-endian image of words, as a raw area dump stores
// them.
func wordBytes(words []uint64) []byte {
	b := make([]byte, 8*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	return b
}

// TestGoldenFollowSim: sim --follow writes the checked-in follow trace's
// words again, and reports its tree.
func TestGoldenFollowSim(t *testing.T) {
	dir := t.TempDir()
	area := filepath.Join(dir, "area.bin")
	out := transcript(t, dir, "sim", "--follow", "--words", "2048", "--chunk-words", "128", "--seed", "5", "--functions", "40", "--calls", "3", "--depth", "3", "-o", "", "--raw-out", area)
	golden.Check(t, "follow-sim.txt", out)
	in, err := abi.LoadTrace("testdata/in/follow.kdf")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Meta.Follow == nil || in.Meta.Follow.ChunkWords != 128 {
		t.Fatalf("follow.kdf: follow metadata %+v", in.Meta.Follow)
	}
	if got, err := os.ReadFile(area); err != nil || !bytes.Equal(got, wordBytes(in.Words)) {
		t.Errorf("sim --follow --raw-out differs from the words of testdata/in/follow.kdf (%v)", err)
	}
}

// TestGoldenFollowBadTag: a chunk whose tag was overwritten is skipped
// and reported, with the task it belonged to cut there; a "follow"
// metadata key with an impossible chunk size is a clear error.
func TestGoldenFollowBadTag(t *testing.T) {
	dir := t.TempDir()
	in, err := abi.LoadTrace("testdata/in/follow.kdf")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	tr := &abi.Trace{Meta: in.Meta, Words: slices.Clone(in.Words)}
	tr.Words[1+2*128] = 0xdeadbeef // the tag of chunk 2
	bad := filepath.Join(dir, "badtag.kdf")
	if err := abi.SaveTrace(bad, tr); err != nil {
		t.Fatal(err)
	}
	tr.Words = in.Words
	tr.Meta.Follow = &abi.FollowMeta{ChunkWords: 100}
	size := filepath.Join(dir, "badsize.kdf")
	if err := abi.SaveTrace(size, tr); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	all.Write(transcript(t, dir, "stats", "--top", "1", "--layout", "testdata/in/follow.jsonl", bad))
	all.WriteByte('\n')
	all.Write(transcript(t, dir, "show", "--task", "sh", "--depth", "1", "--max-fields", "1", "--layout", "testdata/in/follow.jsonl", bad))
	all.WriteByte('\n')
	all.Write(transcript(t, dir, "stats", size))
	golden.Check(t, "follow-badtag.txt", all.Bytes())
}
