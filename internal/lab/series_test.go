package lab

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const seriesBase = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"

// Two patches as git writes them: the second's hunk on a.txt names a line
// the first one moved (patch finds it at an offset), b.c ends without a
// newline, and other.c is not asked for.
var seriesPatches = []string{
	`From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
Subject: [PATCH 1/2] first

A message line
---
 a.txt | 3 ++-
diff --git a/a.txt b/a.txt
index 1111111..2222222 100644
--- a/a.txt
+++ b/a.txt
@@ -1,3 +1,4 @@
 one
-two
+TWO
+two and a half
 three
@@ -8,3 +9,3 @@ seven
 eight
-nine
+NINE
 ten
diff --git a/other.c b/other.c
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/other.c
@@ -0,0 +1 @@
+int other;
diff --git a/dir/b.c b/dir/b.c
new file mode 100644
index 0000000..4444444
--- /dev/null
+++ b/dir/b.c
@@ -0,0 +1,3 @@
+int b(void)
+{
+}
-- 
2.39.5
`,
	`Subject: [PATCH 2/2] second

diff --git a/a.txt b/a.txt
--- a/a.txt
+++ b/a.txt
@@ -4,3 +4,3 @@ three
 four
-five
+FIVE
 six
diff --git a/dir/b.c b/dir/b.c
--- a/dir/b.c
+++ b/dir/b.c
@@ -1,3 +1,4 @@
 int b(void)
 {
-}
+	return 0;
+}
\ No newline at end of file
`,
}

func writeSeries(t *testing.T, patches []string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, p := range patches {
		path := filepath.Join(dir, string(rune('1'+i))+".patch")
		if err := os.WriteFile(path, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

func TestSeriesFiles(t *testing.T) {
	paths := writeSeries(t, seriesPatches)
	got, err := seriesFiles(paths, map[string][]byte{"a.txt": []byte(seriesBase)}, []string{"a.txt", "dir/b.c"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a.txt":   "one\nTWO\ntwo and a half\nthree\nfour\nFIVE\nsix\nseven\neight\nNINE\nten\n",
		"dir/b.c": "int b(void)\n{\n\treturn 0;\n}",
	}
	for name, w := range want {
		if string(got[name]) != w {
			t.Errorf("%s:\n%q\nwant\n%q", name, got[name], w)
		}
	}
	if len(got) != 2 {
		t.Errorf("got %d files, want the 2 asked for", len(got))
	}

	// GNU patch, applying the whole series to a real tree, agrees.
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("no patch command")
	}
	tree := t.TempDir()
	write(t, tree, "a.txt", seriesBase)
	for _, p := range paths {
		cmd := exec.Command("patch", "-p1", "-s", "-F0", "-i", p)
		cmd.Dir = tree
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("patch %s: %v\n%s", p, err, out)
		}
	}
	for name := range want {
		data, err := os.ReadFile(filepath.Join(tree, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, got[name]) {
			t.Errorf("%s: patch made\n%q\nseriesFiles\n%q", name, data, got[name])
		}
	}
}

func TestSeriesFilesErrors(t *testing.T) {
	base := map[string][]byte{"a.txt": []byte(seriesBase)}
	cases := []struct {
		name    string
		patches []string
		base    map[string][]byte
		want    []string
		err     string
	}{
		{name: "not in the series", patches: seriesPatches, base: base, want: []string{"nope.c"},
			err: "does not provide nope.c"},
		{name: "changed base", patches: seriesPatches,
			base: map[string][]byte{"a.txt": []byte(strings.Replace(seriesBase, "two", "2", 1))},
			want: []string{"a.txt"}, err: "a.txt: hunk at line 1 does not apply"},
		{name: "missing base", patches: seriesPatches, want: []string{"a.txt"},
			err: "changes a.txt, which does not exist"},
		{name: "created twice", patches: seriesPatches, base: map[string][]byte{"dir/b.c": nil},
			want: []string{"dir/b.c"}, err: "creates dir/b.c, which exists"},
		{name: "short hunk", patches: []string{"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n one\n"},
			base: map[string][]byte{"x": []byte("one\ntwo\n")}, want: []string{"x"}, err: "ends early"},
		{name: "bad hunk line", patches: []string{"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n*one\n"},
			base: map[string][]byte{"x": []byte("one\n")}, want: []string{"x"}, err: "bad hunk line"},
		{name: "bad hunk header", patches: []string{"diff --git a/x b/x\n@@ -a +1 @@\n"},
			base: map[string][]byte{"x": nil}, want: []string{"x"}, err: "bad hunk header"},
		{name: "rename", patches: []string{"diff --git a/x b/y\nrename from x\nrename to y\n"},
			base: map[string][]byte{"x": nil}, want: []string{"y"}, err: "renames x to y"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := seriesFiles(writeSeries(t, c.patches), c.base, c.want)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
		})
	}
	// A deleted file is gone.
	del := "diff --git a/x b/x\ndeleted file mode 100644\n--- a/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-one\n"
	if _, err := seriesFiles(writeSeries(t, []string{del}), map[string][]byte{"x": []byte("one\n")}, []string{"x"}); err == nil ||
		!strings.Contains(err.Error(), "does not provide x") {
		t.Errorf("deleted file: %v", err)
	}
}

// The repository's series provides the selftest, its uapi header and (the
// tarball's, unchanged) kselftest headers.
func TestSeriesSelftest(t *testing.T) {
	wd, _ := os.Getwd()
	repo, err := FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	patches, _, err := patchSeries(filepath.Join(repo, "kernel", "patches"))
	if err != nil {
		t.Fatal(err)
	}
	harness := map[string][]byte{}
	for _, h := range selftestHarness {
		harness[h] = []byte("/* " + h + " */\n")
	}
	dir := t.TempDir()
	if err := selftestTree(patches, harness, dir); err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	src := read(SelftestSource)
	for _, w := range []string{"#include <linux/kcov_dataflow.h>", `#include "../kselftest_harness.h"`, "TEST_HARNESS_MAIN", "KSFT_SKIP"} {
		if w == "KSFT_SKIP" {
			w = "SKIP(return"
		}
		if !strings.Contains(src, w) {
			t.Errorf("%s lacks %q", SelftestSource, w)
		}
	}
	if !strings.HasPrefix(src, "// SPDX-License-Identifier: GPL-2.0\n") || !strings.HasSuffix(src, "\nTEST_HARNESS_MAIN\n") {
		t.Errorf("%s: not the whole file (%d bytes)", SelftestSource, len(src))
	}
	uapi := read("usr/include/linux/kcov_dataflow.h")
	if !strings.Contains(uapi, "#define KCOV_DF_ENABLE\t\t_IO('d', 100)") || !strings.HasSuffix(uapi, "#endif /* _UAPI_LINUX_KCOV_DATAFLOW_H */\n") {
		t.Errorf("uapi header:\n%s", uapi)
	}
	for _, h := range selftestHarness {
		if got := read(h); got != string(harness[h]) {
			t.Errorf("%s: %q, want the tarball's %q", h, got, harness[h])
		}
	}

	// The selftest's patch hashes, for the kernel key, only its part
	// outside the selftests; a patch without selftests hashes whole.
	for _, p := range patches {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		part, err := kernelPart(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		has := bytes.Contains(data, []byte("diff --git a/"+selftestsDir+"/"))
		switch {
		case !has && part != nil:
			t.Errorf("%s touches no selftest but its kernel part is cut", filepath.Base(p))
		case has && (part == nil || bytes.Contains(part, []byte("diff --git a/"+selftestsDir)) || bytes.Contains(part, []byte("Subject:"))):
			t.Errorf("%s: kernel part\n%s", filepath.Base(p), part)
		}
	}
}
