package lab

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWriteCpio(t *testing.T) {
	entries := []cpioEntry{
		{Name: "/usr/local/bin/kcovdf", Mode: cpioFile | 0o755, Data: []byte("ELF...")},
		{Name: "bin/busybox", Mode: cpioFile | 0o755, Data: []byte("busybox")},
		{Name: "bin/sh", Mode: cpioSymlink | 0o777, Data: []byte("busybox")},
		{Name: "init", Mode: cpioFile | 0o755, Data: []byte("#!/bin/sh\n")},
		{Name: "dev/console", Mode: cpioChar | 0o600, Major: 5, Minor: 1},
	}
	var a, b bytes.Buffer
	if err := writeCpio(&a, entries); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(entries)
	if err := writeCpio(&b, entries); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("archive depends on the order of entries")
	}
	if a.Len()%4 != 0 {
		t.Errorf("archive length %d not 4-aligned", a.Len())
	}
	if !bytes.HasPrefix(a.Bytes(), []byte("070701")) || !bytes.Contains(a.Bytes(), []byte("TRAILER!!!\x00")) {
		t.Error("not a newc archive with a trailer")
	}
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("no cpio to read the archive back")
	}
	cmd := exec.Command(cpio, "-itv", "--quiet")
	cmd.Stdin = bytes.NewReader(a.Bytes())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v", err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if strings.HasPrefix(l, "c") {
			if f[4] != "5," || f[5] != "1" {
				t.Errorf("device node lost its numbers: %s", l)
			}
			f = slices.Delete(f, 4, 5)
		}
		names = append(names, f[0][:1]+" "+strings.Join(f[8:], " "))
	}
	want := []string{"d bin", "- bin/busybox", "l bin/sh -> busybox", "d dev", "c dev/console", "- init", "d usr", "d usr/local", "d usr/local/bin", "- usr/local/bin/kcovdf"}
	if !slices.Equal(names, want) {
		t.Errorf("cpio -t: %q, want %q", names, want)
	}
	// Extract and compare a file's contents.
	dir := t.TempDir()
	x := exec.Command(cpio, "-id", "--quiet", "--no-absolute-filenames")
	x.Dir = dir
	x.Stdin = bytes.NewReader(a.Bytes())
	x.Run() // the device node fails for non-root; the files extract anyway
	if got, err := os.ReadFile(filepath.Join(dir, "usr/local/bin/kcovdf")); err != nil || string(got) != "ELF..." {
		t.Errorf("extracted kcovdf = %q, %v", got, err)
	}
}

func TestCpioKey(t *testing.T) {
	e := []cpioEntry{{Name: "init", Mode: cpioFile | 0o755, Data: []byte("a")}}
	k1 := cpioKey(e)
	e[0].Data = []byte("b")
	k2 := cpioKey(e)
	e[0].Mode = cpioFile | 0o644
	k3 := cpioKey(e)
	if k1 == k2 || k2 == k3 || k1 == k3 {
		t.Errorf("cpio keys %s %s %s: want all different", k1, k2, k3)
	}
	if len(k1) != 32 {
		t.Errorf("key %q", k1)
	}
}

func TestDedupEntries(t *testing.T) {
	got := dedupEntries([]cpioEntry{
		{Name: "usr/local/bin/x", Data: []byte("old")},
		{Name: "init"},
		{Name: "/usr/local/bin/x", Data: []byte("new")},
	})
	if len(got) != 2 || got[0].Name != "init" || string(got[1].Data) != "new" {
		t.Errorf("dedupEntries = %+v", got)
	}
}

func TestMergeLayouts(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	files := []struct {
		name    string
		content string
		mod     time.Time
	}{
		// fs/open.c compiled twice: only the newer dump counts.
		{"kcovdf-00000000000000AA-100.jsonl", `{"func":"do_sys_open","file":"fs/open.c","v":1}` + "\n", old},
		{"kcovdf-00000000000000AA-200.jsonl", `{"func":"do_sys_open","file":"fs/open.c","v":2}` + "\n\n", time.Now()},
		{"kcovdf-00000000000000BB-150.jsonl", "# comment\n" + `{"func":"kmalloc","file":"mm/slub.c"}` + "\n" + `{"func":"kfree","file":"mm/slub.c"}` + "\n", old},
		{"kcovdf-00000000000000CC-1.jsonl.tmp", `{"func":"partial"}` + "\n", old},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		os.WriteFile(p, []byte(f.content), 0o644)
		os.Chtimes(p, f.mod, f.mod)
	}
	out := filepath.Join(t.TempDir(), "layout.jsonl")
	n, err := MergeLayouts(dir, out, LayoutFixups{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want := `{"func":"do_sys_open","file":"fs/open.c","v":2}` + "\n# comment\n" +
		`{"func":"kmalloc","file":"mm/slub.c"}` + "\n" + `{"func":"kfree","file":"mm/slub.c"}` + "\n"
	if string(got) != want || n != 3 {
		t.Errorf("merged (%d records):\n%s\nwant (3):\n%s", n, got, want)
	}
	// No dumps at all (an uninstrumented kernel): an empty layout.
	n, err = MergeLayouts(filepath.Join(dir, "missing"), out, LayoutFixups{})
	if got, _ := os.ReadFile(out); err != nil || n != 0 || len(got) != 0 {
		t.Errorf("missing dir: n %d, err %v, %q", n, err, got)
	}
}

func TestLayoutFixups(t *testing.T) {
	smap := `ffffffff81000000 T _text
ffffffff811a2b30 T do_sys_openat2
ffffffff81200000 t show_map
ffffffff81300000 t show_map
ffffffff81400000 W arch_cpu_idle
ffffffff82000000 D jiffies
`
	addrs, err := TextSymbols(strings.NewReader(smap))
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 3 || addrs["do_sys_openat2"] != 0xffffffff811a2b30 || addrs["arch_cpu_idle"] != 0xffffffff81400000 {
		t.Errorf("TextSymbols = %x", addrs)
	}
	if _, ok := addrs["show_map"]; ok {
		t.Error("a name defined twice got an address")
	}
	fix := LayoutFixups{SourceDir: "/cache/work/plain/src/", Addrs: addrs}
	for _, c := range []struct{ in, want string }{
		{`{"func":"do_sys_openat2","file":"/cache/work/plain/src/fs/open.c","static":false,"args":[]}`,
			`{"pc":"0xffffffff811a2b30","func":"do_sys_openat2","file":"fs/open.c","static":false,"args":[]}`},
		{`{"func":"show_map","file":"/cache/work/plain/src/fs/proc/task_mmu.c","static":true}`,
			`{"func":"show_map","file":"fs/proc/task_mmu.c","static":true}`},
		{`{"pc":"0x1","func":"do_sys_openat2","file":"fs/open.c"}`, `{"pc":"0x1","func":"do_sys_openat2","file":"fs/open.c"}`},
		{`{"func":"gone","file":"/elsewhere/x.c"}`, `{"func":"gone","file":"/elsewhere/x.c"}`},
	} {
		t.Run(c.in, func(t *testing.T) {
			if got := fix.apply(c.in); got != c.want {
				t.Errorf("apply(%s) =\n  %s\nwant\n  %s", c.in, got, c.want)
			}
		})
	}
}
