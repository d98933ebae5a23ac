package lab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const patchA = `--- a/a.c
+++ b/a.c
@@ -1 +1 @@
-int a;
+int a = 1;
--- a/b.c
+++ b/b.c
@@ -1 +1 @@
-int b;
+int b = 1;
`

// patchB changes a.c the same way and b.c differently.
const patchB = `--- a/a.c
+++ b/a.c
@@ -1 +1 @@
-int a;
+int a = 1;
--- a/b.c	2026-01-01 00:00:00
+++ b/b.c	2026-01-01 00:00:00
@@ -1 +1 @@
-int b;
+int b = 2;
`

func TestPatchedFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.patch")
	os.WriteFile(p, []byte(patchB+"--- /dev/null\n+++ b/new.c\n@@ -0,0 +1 @@\n+int n;\n"), 0o644)
	if got := patchedFiles(p); !slices.Equal(got, []string{"a.c", "b.c", "new.c"}) {
		t.Errorf("patchedFiles = %q", got)
	}
}

// A new series keeps the times of files whose contents it does not change.
func TestPrepareSourceRepatch(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("no patch")
	}
	repo, work := t.TempDir(), t.TempDir()
	src := filepath.Join(work, "src")
	write(t, src, "Makefile", "all:\n")
	write(t, src, "a.c", "int a;\n")
	write(t, src, "b.c", "int b;\n")
	write(t, repo, "kernel/patches/0001-x.patch", patchA)
	l := &Lab{repo: repo, cache: t.TempDir(), progress: NewProgress(nil)}
	b := &kernelBuild{l: l, work: work, in: KernelInputs{SourceVersion: "v"}, log: filepath.Join(work, "log")}
	state := workState{SourceVersion: "v"}
	if _, err := b.prepareSource(context.Background(), &Step{}, src, &state); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, f := range []string{"a.c", "b.c"} {
		os.Chtimes(filepath.Join(src, f), old, old)
	}
	write(t, repo, "kernel/patches/0001-x.patch", patchB)
	note, err := b.prepareSource(context.Background(), &Step{}, src, &state)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(note, "re-patched") || !strings.Contains(note, "1 of 2 touched files unchanged") {
		t.Errorf("note %q", note)
	}
	a, _ := os.ReadFile(filepath.Join(src, "a.c"))
	bc, _ := os.ReadFile(filepath.Join(src, "b.c"))
	if string(a) != "int a = 1;\n" || string(bc) != "int b = 2;\n" {
		t.Errorf("tree after re-patch: a.c %q b.c %q", a, bc)
	}
	sa, _ := os.Stat(filepath.Join(src, "a.c"))
	sb, _ := os.Stat(filepath.Join(src, "b.c"))
	if !sa.ModTime().Equal(old) {
		t.Errorf("unchanged a.c got a new time %v (want %v)", sa.ModTime(), old)
	}
	if !sb.ModTime().After(old) {
		t.Errorf("changed b.c kept its old time")
	}
}
