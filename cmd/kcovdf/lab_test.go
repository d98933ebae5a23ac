package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kcovdf/kcovdf/device"
	"github.com/spf13/cobra"
)

func labSub(t *testing.T, name string) *cobra.Command {
	t.Helper()
	c, _, err := newRootCommand().Find([]string{"lab", name})
	if err != nil || c.Name() != name {
		t.Fatalf("lab %s: %v", name, err)
	}
	return c
}

// TestLabHelp: the kernel flags are each subcommand's own (help shows no
// "Global Flags"), usage lines carry one [flags], and --dir is the shared
// directory, never -o/--out.
func TestLabHelp(t *testing.T) {
	for _, name := range []string{"build", "run", "boot", "shell", "trace", "bench"} {
		t.Run(name, func(t *testing.T) {
			out, _, err := runCLI(t, "lab", name, "--help")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, "Global Flags") {
				t.Errorf("help lists global flags:\n%s", out)
			}
			for _, flag := range []string{"--kasan", "--instrument", "--jobs", "--cache", "--repo"} {
				if !strings.Contains(out, flag) {
					t.Errorf("help lacks %s", flag)
				}
			}
			if strings.Contains(out, "--out ") {
				t.Errorf("help still has --out:\n%s", out)
			}
			use := labSub(t, name).UseLine()
			if n := strings.Count(use, "[flags]"); n != 1 {
				t.Errorf("usage %q has [flags] %d times", use, n)
			}
		})
	}
	// The lab command itself has no kernel flags to inherit.
	out, _, err := runCLI(t, "lab", "--help")
	if err != nil || strings.Contains(out, "--kasan") {
		t.Errorf("lab --help: %v\n%s", err, out)
	}
}

// TestLabTimeoutDefaults: each subcommand keeps its own timeout default (a
// flag variable shared between subcommands took the last one's).
func TestLabTimeoutDefaults(t *testing.T) {
	for name, want := range map[string]time.Duration{
		"run": 10 * time.Minute, "boot": 5 * time.Minute, "shell": 0,
		"trace": 10 * time.Minute, "bench": 20 * time.Minute,
	} {
		got, err := labSub(t, name).Flags().GetDuration("timeout")
		if err != nil || got != want {
			t.Errorf("lab %s --timeout default %v (%v), want %v", name, got, err, want)
		}
	}
}

// TestLabArgErrors: the checks that need no kernel fail before building one.
func TestLabArgErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"run without a command", []string{"lab", "run"}, "lab run: no command given; usage: kcovdf lab run [flags] -- CMD [ARGS...]"},
		{"trace without a command", []string{"lab", "trace"}, "lab trace: no command given; usage: kcovdf lab trace [flags] -- CMD [ARGS...]"},
		{"trace to a directory", []string{"lab", "trace", "-o", dir, "--", "true"}, "--output " + dir + " is a directory"},
		{"build with arguments", []string{"lab", "build", "extra"}, `lab build: unexpected argument "extra"; usage: kcovdf lab build [flags]`},
		{"unknown subcommand", []string{"lab", "nope"}, `lab: unknown command "nope"`},
		{"kernel flag before the subcommand", []string{"lab", "--kasan", "run", "--", "true"}, "unknown flag: --kasan"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCLI(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v: error %v, want %q", c.args, err, c.want)
			}
		})
	}
}

// TestLabBenchTable: the four modes of one boot paired per syscall, the
// cost per collected unit, and the table.
func TestLabBenchTable(t *testing.T) {
	rows, err := device.ParseLatency(strings.NewReader("boot noise\n" +
		`{"name":"getpid","ns":400,"mode":"none"}` + "\n" +
		`{"name":"getpid","ns":500,"mode":"kcov","pcs":5}` + "\n" +
		`{"name":"getpid","ns":20400,"mode":"dataflow","traced":true,"words":200,"records":10}` + "\n" +
		`{"name":"getpid","ns":20600,"mode":"both","traced":true,"words":200,"records":10,"pcs":5}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := device.ParseLatency(strings.NewReader(`{"name":"getpid","ns":300,"traced":false}`))
	figs, err := benchFigures(rows, base)
	if err != nil {
		t.Fatal(err)
	}
	want := benchFigure{Name: "getpid", Uninstrumented: 300, None: 400, Kcov: 500, Dataflow: 20400, Both: 20600,
		PCs: 5, Words: 200, Records: 10, NSPerPC: 20, NSPerWord: 100}
	if len(figs) != 2 || figs[0] != want || figs[0].WordPerPC() != 5 {
		t.Fatalf("figures %+v, want %+v (word/PC 5) and the sum", figs, want)
	}
	if all := figs[1]; all.Name != "all" || all.None != 400 || all.NSPerPC != 20 || all.NSPerWord != 100 {
		t.Errorf("sum %+v", all)
	}
	var out bytes.Buffer
	if err := printBench(&out, figs); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"300 ns", "1.2x", "51.0x", "51.5x", "20.0", "100.0", "5.0x"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("bench table lacks %q:\n%s", s, out.String())
		}
	}
	if _, err := benchFigures(rows[:2], nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing mode: error %v", err)
	}
	if _, err := benchFigures(rows, rows[1:]); err == nil {
		t.Error("a baseline without the syscall must be an error")
	}
	if strings.Contains(out.String(), "follow") {
		t.Errorf("follow columns without a follow-mode measurement:\n%s", out.String())
	}
}

// TestLabBenchFollow: follow mode's time and words beside dataflow's, its
// cost per word and the ratio of the two per-word costs; a syscall
// without it when others have it is an error.
func TestLabBenchFollow(t *testing.T) {
	lines := `{"name":"getpid","ns":400,"mode":"none"}
{"name":"getpid","ns":500,"mode":"kcov","pcs":5}
{"name":"getpid","ns":20400,"mode":"dataflow","traced":true,"words":200,"records":10}
{"name":"getpid","ns":20600,"mode":"both","traced":true,"words":200,"records":10,"pcs":5}
{"name":"getpid","ns":24400,"mode":"follow","traced":true,"words":200,"records":10}
{"name":"fstat","ns":1000,"mode":"none"}
{"name":"fstat","ns":1100,"mode":"kcov","pcs":10}
{"name":"fstat","ns":41000,"mode":"dataflow","traced":true,"words":400,"records":40}
{"name":"fstat","ns":41100,"mode":"both","traced":true,"words":400,"records":40,"pcs":10}
{"name":"fstat","ns":49000,"mode":"follow","traced":true,"words":400,"records":40}
`
	rows, err := device.ParseLatency(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	figs, err := benchFigures(rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := figs[0]; g.Follow != 24400 || g.FollowWords != 200 || g.FollowRecords != 10 || g.NSPerFollowWord != 120 || g.FollowPerWord() != 1.2 {
		t.Errorf("getpid %+v, want 120 ns per follow word, 1.2 times dataflow's", g)
	}
	if all := figs[2]; all.Follow != 73400 || all.FollowWords != 600 || all.NSPerFollowWord != 120 || all.NSPerWord != 100 {
		t.Errorf("sum %+v", all)
	}
	var out bytes.Buffer
	if err := printBench(&out, figs); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"follow/none", "61.0x", "ns/follow word", "120.0", "1.20x", "follow: kcov dataflow in follow mode"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("bench table lacks %q:\n%s", s, out.String())
		}
	}
	if _, err := benchFigures(rows[:9], nil); err == nil || !strings.Contains(err.Error(), "fstat: no follow-mode measurement") {
		t.Errorf("follow mode missing for one syscall: %v", err)
	}
}
