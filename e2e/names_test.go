package e2e

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/internal/lab"
)

// TestNamesE2E traces three commands in the lab kernel and reads them as
// a kernel developer would: dd's three writes of 4096 bytes, -ENOENT
// coming back up the open path of a missing file, struct fields by name;
// and it decodes each trace a second time as a kernel built by another
// compiler would be, from the vmlinux's DWARF alone. make e2e runs it.
//
//	KCOVDF_E2E_NAMES=1 go test -run TestNamesE2E -v ./e2e
func TestNamesE2E(t *testing.T) {
	needEnv(t, "KCOVDF_E2E_NAMES", "boot the lab kernel and trace dd, cat /nonexistent and cat /etc/passwd")
	const script = `set -e
kcovdf record -o dd.kdf -- dd if=/dev/zero of=/dev/null bs=4096 count=3
kcovdf record -o enoent.kdf -- cat /nonexistent || true
kcovdf record -o cat.kdf -- cat /etc/passwd
`
	dir, k, _ := runGuest(t, lab.KernelOptions{}, script)

	dwarfOnly := stripLayout(t, k.Vmlinux)
	for _, name := range []string{"dd.kdf", "enoent.kdf", "cat.kdf"} {
		t.Run("dwarf-only "+name, func(t *testing.T) {
			checkDWARFOnly(t, filepath.Join(dir, name), k, dwarfOnly)
		})
	}

	// The open of /etc/passwd, its struct open_how by field name.
	tree, nm := namedTree(t, filepath.Join(dir, "cat.kdf"), k)
	how := ""
	for i := range tree.Calls {
		if nm.Func(tree.Calls[i].PC).Name != "do_sys_openat2" {
			continue
		}
		for _, a := range nm.Args(tree, i) {
			if a.Name == "how" && strings.HasPrefix(a.Type, "struct open_how") {
				how = a.Text
				var names []string
				for _, f := range a.Fields {
					names = append(names, f.Name)
				}
				if strings.Join(names, ",") != "flags,mode,resolve" {
					t.Errorf("how's fields %v, want flags, mode, resolve", names)
				}
			}
		}
		if r, ok := nm.Ret(tree, i); ok && how == "{flags=0x8000, mode=0, resolve=0}" && r.Text == "3" {
			break
		}
	}
	if how != "{flags=0x8000, mode=0, resolve=0}" {
		t.Errorf("cat /etc/passwd: do_sys_openat2's how is %q, want {flags=0x8000, mode=0, resolve=0} (O_RDONLY|O_LARGEFILE) returning fd 3", how)
	}

	tree, nm = namedTree(t, filepath.Join(dir, "dd.kdf"), k)
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

// stripLayout copies a vmlinux without the layout records the plugin bound
// to each function (.kcovdf_layout): what a kernel built by another
// compiler gives, DWARF and symbols only.
func stripLayout(t *testing.T, vmlinux string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vmlinux-dwarf-only")
	if b, err := exec.Command("objcopy", "--remove-section", abi.LayoutSection, vmlinux, out).CombinedOutput(); err != nil {
		t.Fatalf("objcopy --remove-section %s: %v\n%s", abi.LayoutSection, err, b)
	}
	if _, err := abi.LoadLayout(out); !errors.Is(err, abi.ErrNoLayoutSection) {
		t.Fatalf("%s still has layout records: %v", out, err)
	}
	return out
}

// checkDWARFOnly decodes a lab trace twice: with the layout records the
// plugin bound to each function's address in the vmlinux, and with shapes
// derived from the DWARF of dwarfOnly, a copy of it without those records
// (as `kcovdf decode --symbols` decodes a kernel built by another
// compiler). Both must decode exactly, every word attributed, to the same
// records; every traced function must be one the plugin instrumented,
// and its derived shape must be the plugin's.
func checkDWARFOnly(t *testing.T, path string, k *lab.Kernel, dwarfOnly string) {
	tr, err := abi.LoadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	plugin, err := abi.LoadLayout(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	slide, _ := tr.Meta.Slide()
	want, errs := abi.TableFromLayout(plugin, slide)
	if len(errs) > 0 {
		t.Fatalf("layout records conflict: %v", errs)
	}
	ix, err := debuginfo.Open(dwarfOnly, debuginfo.Options{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if err := debuginfo.CheckBuildID(&tr.Meta, ix); err != nil {
		t.Fatal(err)
	}
	b, err := debuginfo.Layouts(ix, debuginfo.DWARFLayout{})
	if err != nil {
		t.Fatal(err)
	}
	sp := debuginfo.SpaceOf(&tr.Meta, ix)
	got, errs := b.Table(sp)
	if len(errs) > 0 {
		t.Fatalf("derived shapes conflict: %v", errs)
	}
	decode := func(table *abi.Table) ([]abi.Record, *abi.Summary) {
		d := abi.NewDecoder(tr.Words, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: tr.Meta.BufferWords})
		var recs []abi.Record
		for d.Next() {
			r := *d.Record()
			r.Values = append([]uint64(nil), r.Values...)
			recs = append(recs, r)
		}
		return recs, d.Summary()
	}
	wantRecs, wantSum := decode(want)
	gotRecs, gotSum := decode(got)
	if !wantSum.Exact() || wantSum.Unattributed != 0 {
		t.Fatalf("with the plugin's layout records: not exact, %d words unattributed: %v", wantSum.Unattributed, wantSum.Anomalies)
	}
	if !gotSum.Exact() || gotSum.Unattributed != 0 {
		t.Fatalf("from DWARF alone: not exact, %d words unattributed: %v", gotSum.Unattributed, head(gotSum.Anomalies, 5))
	}
	if len(gotRecs) != len(wantRecs) {
		t.Fatalf("from DWARF alone: %d records, with the plugin's layout %d", len(gotRecs), len(wantRecs))
	}
	type slot struct {
		pc   uint64
		kind abi.Kind
		idx  uint8
	}
	slots := map[slot]bool{}
	funcs := map[uint64]bool{}
	for i := range wantRecs {
		w, g := &wantRecs[i], &gotRecs[i]
		if w.Offset != g.Offset || w.Kind != g.Kind || w.Seq != g.Seq || w.PC != g.PC || w.ArgIdx != g.ArgIdx || w.Size != g.Size || w.Ptr != g.Ptr || !slices.Equal(w.Values, g.Values) {
			t.Fatalf("record %d differs:\nplugin %s\ndwarf  %s", i, w.Append(nil), g.Append(nil))
		}
		slots[slot{w.PC, w.Kind, w.ArgIdx}] = true
		funcs[w.PC] = true
	}
	// Limited to the instrumented functions: each traced pc is one the
	// plugin wrote records for, and the shape derived there gives every
	// record of it the plugin's length. (Names may differ: DWARF names
	// the syscall wrapper __x64_sys_getuid's address __do_sys_getuid.)
	for s := range slots {
		if w, g := want.RecordLen(s.pc, s.kind, s.idx), got.RecordLen(s.pc, s.kind, s.idx); w == 0 || w != g {
			t.Errorf("pc %#x (%v, arg %d): %d words by the plugin's records, %d derived", s.pc, s.kind, s.idx, w, g)
		}
	}
	for pc := range funcs {
		if b.Shape(sp.Link(pc)) == nil {
			t.Errorf("traced pc %#x: no shape derived from DWARF", pc)
		}
	}
	t.Logf("%s: %d records of %d functions in %d words, identical from DWARF alone (%d derived shapes)", filepath.Base(path), len(wantRecs), len(funcs), wantSum.Count, len(b.Funcs))
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}
