package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/internal/lab"
)

// TestNamesE2E traces two commands in the lab kernel and reads them as a
// kernel developer would: dd's three writes of 4096 bytes, and -ENOENT
// coming back up the open path of a missing file.
//
//	KCOVDF_E2E_NAMES=1 go test -run TestNamesE2E -v ./e2e
func TestNamesE2E(t *testing.T) {
	if os.Getenv("KCOVDF_E2E_NAMES") != "1" {
		t.Skip("set KCOVDF_E2E_NAMES=1 to boot the lab kernel and trace dd and cat /nonexistent")
	}
	const script = `set -e
kcovdf record -o dd.kdf -- dd if=/dev/zero of=/dev/null bs=4096 count=3
kcovdf record -o enoent.kdf -- cat /nonexistent || true
`
	dir, k, _ := runGuest(t, lab.KernelOptions{}, script)

	tree, nm := namedTree(t, filepath.Join(dir, "dd.kdf"), k)
	writes := 0
	for i := range tree.Calls {
		if nm.Func(tree.Calls[i].PC).Name != "vfs_write" {
			continue
		}
		for _, a := range nm.Args(tree, i) {
			if a.Name == "count" && a.Text == "4096" {
				writes++
			}
		}
	}
	if writes != 3 {
		t.Errorf("dd bs=4096 count=3: %d calls of vfs_write with count=4096, want 3", writes)
	}

	tree, nm = namedTree(t, filepath.Join(dir, "enoent.kdf"), k)
	found := false
	for i := range tree.Calls {
		if nm.Func(tree.Calls[i].PC).Name != "do_sys_openat2" {
			continue
		}
		r, ok := nm.Ret(tree, i)
		if !ok || r.Text != "-ENOENT" {
			continue
		}
		// Its caller, the system call, returns the same.
		p := tree.Calls[i].Parent
		for p >= 0 && nm.Func(tree.Calls[p].PC).Name != "__x64_sys_openat" {
			p = tree.Calls[p].Parent
		}
		if p < 0 {
			t.Fatal("do_sys_openat2 = -ENOENT outside __x64_sys_openat")
		}
		if r, ok := nm.Ret(tree, int(p)); !ok || r.Text != "-ENOENT" {
			t.Errorf("__x64_sys_openat returned %q, want -ENOENT", r.Text)
		}
		found = true
	}
	if !found {
		t.Error("cat /nonexistent: no do_sys_openat2 returning -ENOENT")
	}
}

// namedTree decodes a lab trace exactly and builds its named call tree.
func namedTree(t *testing.T, path string, k *lab.Kernel) (*calls.Tree, *calls.Namer) {
	t.Helper()
	tr, err := abi.LoadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	layout, err := abi.LoadLayout(k.Layout)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := debuginfo.Open(k.Vmlinux, debuginfo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := debuginfo.CheckBuildID(&tr.Meta, ix); err != nil {
		t.Fatal(err)
	}
	sp := debuginfo.SpaceOf(&tr.Meta, ix)
	b, err := debuginfo.Layouts(ix, debuginfo.PluginLayout{Layout: layout, Label: "plugin"}, debuginfo.DWARFLayout{})
	if err != nil {
		t.Fatal(err)
	}
	table, _ := b.Table(sp)
	d := abi.NewDecoder(tr.Words, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: tr.Meta.BufferWords})
	tree := calls.Build(tr.Words, d, calls.Options{Full: tr.Meta.Overflowed})
	if s := d.Summary(); !s.Exact() || s.Unattributed != 0 {
		t.Fatalf("%s does not decode exactly: %v", path, s.Anomalies)
	}
	nm := &calls.Namer{Index: ix, Space: sp, Layout: b}
	for i := range tree.Calls {
		if nm.Func(tree.Calls[i].PC).Name == "" {
			t.Fatalf("%s: pc %#x has no name", path, tree.Calls[i].PC)
		}
	}
	return tree, nm
}
