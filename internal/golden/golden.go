// Package golden compares test output with expected files under
// testdata/golden/, and rewrites them when a test runs with -update.
// Only expected outputs live there: a test's inputs sit elsewhere under
// testdata/ and -update never writes them.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dir holds the expected outputs, relative to the test's package.
const Dir = "testdata/golden"

var update = flag.Bool("update", false, "rewrite the expected outputs under "+Dir+" (never the inputs)")

// Check compares got with Dir/name, or writes it there with -update.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path, err := pathOf(name)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run with -update to accept it):\n%s", path, Diff(want, got))
	}
}

// pathOf keeps name inside Dir, so that -update cannot reach an input.
func pathOf(name string) (string, error) {
	clean := filepath.Clean(name)
	if name == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("golden: %q is not a file name under %s", name, Dir)
	}
	return filepath.Join(Dir, clean), nil
}

// Diff shows the first differing line of want and got, with its number.
func Diff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl || i >= len(w) || i >= len(g) {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q\n(%d lines expected, %d got)", i+1, wl, gl, len(w), len(g))
		}
	}
	return "identical"
}
