package lab

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeRepo makes a source tree with a plugin, a patch series and a selftest.
func fakeRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	write(t, repo, "compiler/Makefile", "all:\n")
	write(t, repo, "compiler/KcovDataflow.cpp", "// pass\n")
	write(t, repo, "compiler/build/kcovdf-dataflow.so", "binary")
	write(t, repo, "kernel/patches/0001-kcov-dataflow.patch", "--- a/x\n+++ b/x\n")
	write(t, repo, "kernel/patches/0002-objtool.patch", "--- a/y\n+++ b/y\n")
	write(t, repo, "kernel/patches/0003-selftests.patch", selftestPatch("return 0;", "F:\tkernel/kcov.c"))
	return repo
}

// selftestPatch is a patch that adds a selftest and a MAINTAINERS line.
func selftestPatch(body, maintainers string) string {
	return "From: kcovdf\nSubject: [PATCH] selftests: " + body + "\n\n---\n" +
		"diff --git a/MAINTAINERS b/MAINTAINERS\n--- a/MAINTAINERS\n+++ b/MAINTAINERS\n" +
		"@@ -1,1 +1,2 @@\n F:\tkernel/kcov.c\n+" + maintainers + "\n" +
		"diff --git a/tools/testing/selftests/kcov_dataflow/t.c b/tools/testing/selftests/kcov_dataflow/t.c\n" +
		"new file mode 100644\n--- /dev/null\n+++ b/tools/testing/selftests/kcov_dataflow/t.c\n" +
		"@@ -0,0 +1,1 @@\n+int main(void) { " + body + " }\n"
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func keyOf(t *testing.T, repo string, opts KernelOptions, src, clang string) string {
	t.Helper()
	in, err := kernelInputs(repo, opts, src, clang)
	if err != nil {
		t.Fatal(err)
	}
	return in.Key()
}

func TestKernelKey(t *testing.T) {
	const src, clang = "6.12.117-1~deb12u1", "Debian clang version 19.1.7 (3~deb12u1)"
	repo := fakeRepo(t)
	base := keyOf(t, repo, KernelOptions{}, src, clang)
	if len(base) != 32 {
		t.Fatalf("key %q: want 32 hex digits", base)
	}
	if again := keyOf(t, repo, KernelOptions{}, src, clang); again != base {
		t.Fatalf("same inputs gave keys %s and %s", base, again)
	}
	if k := keyOf(t, repo, KernelOptions{Instrument: "default"}, src, clang); k != base {
		t.Errorf(`Instrument "default" and "" differ: %s vs %s`, k, base)
	}

	// Changes that must not change the key.
	same := []struct {
		name string
		edit func(repo string)
	}{
		{"plugin build output", func(r string) { write(t, r, "compiler/build/kcovdf-dataflow.so", "rebuilt") }},
		{"editor backup", func(r string) { write(t, r, "compiler/KcovDataflow.cpp~", "old") }},
		{"selftest in a patch (initramfs input)", func(r string) {
			write(t, r, "kernel/patches/0003-selftests.patch", selftestPatch("return 1;", "F:\tkernel/kcov.c"))
		}},
		{"non-patch file in patches/", func(r string) { write(t, r, "kernel/patches/README", "notes") }},
		{"plugin tests", func(r string) { write(t, r, "compiler/tests/a.c", "int x;\n") }},
		{"plugin README", func(r string) { write(t, r, "compiler/README.md", "more words\n") }},
	}
	for _, c := range same {
		r := fakeRepo(t)
		c.edit(r)
		if k := keyOf(t, r, KernelOptions{}, src, clang); k != base {
			t.Errorf("%s changed the key", c.name)
		}
	}

	// Changes that must.
	differ := []struct {
		name  string
		edit  func(repo string)
		opts  KernelOptions
		src   string
		clang string
	}{
		{name: "plugin source", edit: func(r string) { write(t, r, "compiler/KcovDataflow.cpp", "// pass v2\n") }},
		{name: "new plugin file", edit: func(r string) { write(t, r, "compiler/Helpers.h", "int x;\n") }},
		{name: "plugin file made executable", edit: func(r string) {
			os.Chmod(filepath.Join(r, "compiler/Makefile"), 0o755)
		}},
		{name: "patch content", edit: func(r string) { write(t, r, "kernel/patches/0002-objtool.patch", "--- a/z\n+++ b/z\n") }},
		{name: "kernel part of a selftest patch", edit: func(r string) {
			write(t, r, "kernel/patches/0003-selftests.patch", selftestPatch("return 0;", "F:\tkernel/kcov_dataflow.c"))
		}},
		{name: "patch added", edit: func(r string) { write(t, r, "kernel/patches/0003-more.patch", "--- a/w\n+++ b/w\n") }},
		{name: "patch renamed (order)", edit: func(r string) {
			os.Rename(filepath.Join(r, "kernel/patches/0002-objtool.patch"), filepath.Join(r, "kernel/patches/0000-objtool.patch"))
		}},
		{name: "kasan", opts: KernelOptions{KASAN: true}},
		{name: "instrument all", opts: KernelOptions{Instrument: "all"}},
		{name: "instrument none", opts: KernelOptions{Instrument: "none"}},
		{name: "instrument list", opts: KernelOptions{Instrument: "fs/ mm/"}},
		{name: "extra option", opts: KernelOptions{Extra: []Option{{"KCOV_INSTRUMENT_ALL", "n"}}}},
		{name: "linux-source version", src: "6.12.118-1~deb12u1"},
		{name: "clang version", clang: "Debian clang version 19.1.8"},
	}
	seen := map[string]string{base: "base"}
	for _, c := range differ {
		r := fakeRepo(t)
		if c.edit != nil {
			c.edit(r)
		}
		s, cl := src, clang
		if c.src != "" {
			s = c.src
		}
		if c.clang != "" {
			cl = c.clang
		}
		k := keyOf(t, r, c.opts, s, cl)
		if prev, ok := seen[k]; ok {
			t.Errorf("%s: key %s equals that of %s", c.name, k, prev)
		}
		seen[k] = c.name
	}
}

func TestKernelInputsWithoutPatches(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "compiler/KcovDataflow.cpp", "// pass\n")
	in, err := kernelInputs(repo, KernelOptions{}, "v", "c")
	if err != nil {
		t.Fatal(err)
	}
	// No series: no dataflow options, no plugin.
	if in.UsePlugin || in.Plugin != "" || in.Select != "" {
		t.Errorf("without patches: UsePlugin %v Plugin %q Select %q, want none", in.UsePlugin, in.Plugin, in.Select)
	}
	for _, c := range in.Config {
		if c == "CONFIG_KCOV_DATAFLOW_ARGS=y" {
			t.Errorf("without patches the config asks for %s", c)
		}
	}
	in, err = kernelInputs(fakeRepo(t), KernelOptions{}, "v", "c")
	if err != nil {
		t.Fatal(err)
	}
	if !in.UsePlugin || in.Select != DefaultSelect || len(in.Patches) != 3 {
		t.Errorf("with patches: UsePlugin %v Select %q Patches %v", in.UsePlugin, in.Select, in.Patches)
	}
}

// A cover letter has no diff: it is neither applied nor part of the key.
func TestPatchSeriesSkipsCoverLetter(t *testing.T) {
	repo := fakeRepo(t)
	dir := filepath.Join(repo, "kernel", "patches")
	paths, ids, err := patchSeries(dir)
	if err != nil {
		t.Fatal(err)
	}
	write(t, repo, "kernel/patches/0000-cover-letter.patch",
		"Subject: [PATCH 0/3] kcov: dataflow\n\n---\n a/x | 1 +\n")
	paths2, ids2, err := patchSeries(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 || filepath.Base(paths2[0]) != "0001-kcov-dataflow.patch" ||
		!slices.Equal(paths, paths2) || !slices.Equal(ids, ids2) {
		t.Errorf("with a cover letter: %v %v, want %v %v", paths2, ids2, paths, ids)
	}
	if hasDiff("--- a/x\n") || !hasDiff("x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n") {
		t.Error("hasDiff: wrong on a lone --- line or a real diff")
	}
}

func TestHashTreeMissingDir(t *testing.T) {
	a, err := HashTree(filepath.Join(t.TempDir(), "nope"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashTree(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("missing dir %s != empty dir %s", a, b)
	}
}

// TestMaxFieldsNeedsTheSeries: a capped kernel is refused while the series
// does not hand the cap to the plugin, and has a key of its own once it does.
func TestMaxFieldsNeedsTheSeries(t *testing.T) {
	r := fakeRepo(t)
	if _, err := kernelInputs(r, KernelOptions{MaxFields: 16}, "6.12", "clang 19"); err == nil || !strings.Contains(err.Error(), "KCOV_DATAFLOW_MAX_FIELDS") {
		t.Fatalf("capped kernel without series support: error %v", err)
	}
	write(t, r, "kernel/patches/0009-cap.patch", "--- a/scripts/Makefile.kcov\n+++ b/scripts/Makefile.kcov\n@@ -1 +1,2 @@\n x\n+KCOV_DATAFLOW_MAX_FIELDS\n")
	capped, err := kernelInputs(r, KernelOptions{MaxFields: 16}, "6.12", "clang 19")
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := kernelInputs(r, KernelOptions{}, "6.12", "clang 19")
	if capped.Key() == whole.Key() || capped.MaxFields != 16 {
		t.Errorf("capped %+v and whole kernels share key %s", capped, whole.Key())
	}
}
