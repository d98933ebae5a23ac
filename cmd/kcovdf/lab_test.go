package main

import (
	"strings"
	"testing"
	"time"

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
		"trace": 10 * time.Minute, "bench": 15 * time.Minute,
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
		{"run without a command", []string{"lab", "run"}, "requires at least 1 arg"},
		{"trace without a command", []string{"lab", "trace"}, "requires at least 1 arg"},
		{"trace to a directory", []string{"lab", "trace", "-o", dir, "--", "true"}, "--output " + dir + " is a directory"},
		{"build with arguments", []string{"lab", "build", "extra"}, `unknown command "extra"`},
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
