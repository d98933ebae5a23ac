package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
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
//
// capped.jsonl is abi/testdata/capped/capped.jsonl with a pc per function.

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
		{"layout-lengths", []string{"layout", "lengths", layout}},
		{"layout-lengths-json", []string{"layout", "lengths", "--json", layout}},
		// The plugin's layout of compiler/tests/capped.c (a cap of 3),
		// with made-up pcs.
		{"layout-lengths-capped", []string{"layout", "lengths", "--json", "testdata/in/capped.jsonl"}},
		{"conformance-model", []string{"conformance", "--model"}},
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
		{"symbolize", "0xffffffff81000000"},
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
			case f.Name == "format" && !strings.Contains(f.Usage, "of the input"):
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
