package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

func TestSimDecodeStats(t *testing.T) {
	dir := t.TempDir()
	trace, layout := filepath.Join(dir, "s.kdf"), filepath.Join(dir, "s.jsonl")
	out, _, err := runCLI(t, "sim", "--words", "8192", "--seed", "3", "-o", trace, "--layout-out", layout)
	if err != nil || !strings.Contains(out, "dropped") {
		t.Fatalf("sim: %v %q", err, out)
	}
	out, errs, err := runCLI(t, "decode", "--layout", layout, trace)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "[ENTRY] seq=1 pc=0xffffffff81") || !strings.Contains(lines[len(lines)-1], "seq=") {
		t.Fatalf("decode output %q ... %q", lines[0], lines[len(lines)-1])
	}
	if strings.Contains(errs, "could not be attributed") || !strings.Contains(errs, "buffer-full") {
		t.Fatalf("exact decode of a full buffer: stderr %q", errs)
	}
	out, _, err = runCLI(t, "stats", "--layout", layout, trace)
	if err != nil || !regexp.MustCompile(`(?m)^exact +yes$`).MatchString(out) {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	for _, want := range []string{"records", "fill", "100.0% of 8192 words", "anomaly buffer-full"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, "decode", "--json", "--layout", layout, trace)
	if err != nil || !strings.HasPrefix(out, `{"offset":1,"kind":"ENTRY","seq":1,`) {
		t.Fatalf("json: %v %.80q", err, out)
	}
}

// TestDecodeDamagedFile: a cut trace still decodes what it holds, and the
// error names the file and the word.
func TestDecodeDamagedFile(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "s.kdf")
	if _, _, err := runCLI(t, "sim", "--words", "4096", "-o", trace); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(trace)
	os.WriteFile(trace, data[:len(data)-1000], 0o644)
	out, errs, err := runCLI(t, "decode", trace)
	if err == nil || !strings.Contains(err.Error(), trace+": word ") || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("error %v", err)
	}
	if strings.Count(out, "\n") < 100 || !strings.Contains(errs, "torn-tail") {
		t.Fatalf("kept %d lines; stderr %q", strings.Count(out, "\n"), errs)
	}
	if _, _, err := runCLI(t, "decode", "--format", "v9", trace); err == nil || !strings.Contains(err.Error(), "want v1, v2, v3 or auto") {
		t.Fatalf("bad format: %v", err)
	}
	if _, _, err := runCLI(t, "decode", filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}
