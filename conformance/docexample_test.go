package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// seriesPatch returns the text of the patch of the series whose file name
// starts with prefix.
func seriesPatch(t *testing.T, prefix string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join("..", "kernel", "patches", prefix+"-*.patch"))
	if err != nil || len(m) != 1 {
		t.Fatalf("patch %s: %v %v", prefix, m, err)
	}
	data, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// addedLines returns the lines a patch adds to path (without the "+").
func addedLines(t *testing.T, patch, path string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(patch, "\n+++ b/"+path+"\n")
	if !ok {
		t.Fatalf("the patch does not touch %s", path)
	}
	if end := strings.Index(rest, "\ndiff --git "); end >= 0 {
		rest = rest[:end]
	}
	var out []string
	for _, l := range strings.Split(rest, "\n") {
		if a, ok := strings.CutPrefix(l, "+"); ok {
			out = append(out, a)
		}
	}
	return out
}

// The C example of docs/device.md and the one of the kernel's
// kcov-dataflow.rst compile against the uapi header of the series.
func TestDocExamplesCompile(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	hdr := addedLines(t, seriesPatch(t, "0001"), "include/uapi/linux/kcov_dataflow.h")
	os.MkdirAll(filepath.Join(dir, "linux"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "linux", "kcov_dataflow.h"), []byte(strings.Join(hdr, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	md, err := os.ReadFile(filepath.Join("..", "docs", "device.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, ex, _ := strings.Cut(string(md), "\n## Example\n")
	_, ex, ok := strings.Cut(ex, "```c\n")
	ex, _, ok2 := strings.Cut(ex, "```\n")
	if !ok || !ok2 {
		t.Fatal("docs/device.md: no ```c block under ## Example")
	}

	rst := addedLines(t, seriesPatch(t, "0005"), "Documentation/dev-tools/kcov-dataflow.rst")
	var code []string
	in := false
	for _, l := range rst {
		switch {
		case l == ".. code-block:: c":
			in = true
		case in && (l == "" || strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t")):
			code = append(code, strings.TrimPrefix(l, "    "))
		case in:
			in = false
		}
	}
	if len(code) < 20 {
		t.Fatalf("kcov-dataflow.rst: code block of %d lines", len(code))
	}
	if got := strings.TrimSpace(strings.Join(code, "\n")); got != strings.TrimSpace(ex) {
		t.Error("the examples of docs/device.md and kcov-dataflow.rst differ")
	}

	for name, src := range map[string]string{"device_md.c": ex, "rst.c": strings.Join(code, "\n") + "\n"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(gcc, "-Wall", "-Wextra", "-Werror", "-O2", "-I", dir, "-o", p+".o", "-c", p).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
		for _, want := range []string{"__atomic_load_n(&area[0], __ATOMIC_ACQUIRE)", "KCOV_DF_INIT_TRACE", "KCOV_DF_ENABLE", "KCOV_DF_DISABLE", "MAP_SHARED", "close(fd)"} {
			if !strings.Contains(src, want) {
				t.Errorf("%s: the example lacks %s", name, want)
			}
		}
	}
}

// testdata/compat32.c (run by hand on a kernel with IA32_EMULATION) still
// builds as a 32-bit program without libc.
func TestCompat32Builds(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	out := filepath.Join(t.TempDir(), "compat32")
	b, err := exec.Command(gcc, "-m32", "-O2", "-static", "-nostdlib", "-ffreestanding",
		"-fno-stack-protector", "-fno-pic", "-no-pie", "-Wall", "-Werror",
		"-o", out, filepath.Join("testdata", "compat32.c")).CombinedOutput()
	if err != nil {
		if strings.Contains(string(b), "unrecognized") || strings.Contains(string(b), "m32") {
			t.Skipf("gcc cannot build 32-bit code here: %s", b)
		}
		t.Fatalf("gcc: %v\n%s", err, b)
	}
}
