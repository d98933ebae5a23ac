package abi

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// layoutFixturePlugin is the compiler plugin to rebuild the fixture with:
// $KCOVDF_PLUGIN, else the one `make -C compiler` builds.
func layoutFixturePlugin(t *testing.T) string {
	p := os.Getenv("KCOVDF_PLUGIN")
	if p == "" {
		p = filepath.Join("..", "compiler", "build", "kcovdf-dataflow.so")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("no compiler plugin at %s: build it with make -C compiler, or set KCOVDF_PLUGIN", abs)
	}
	return abs
}

func layoutSectionRecords(t *testing.T, path string) []FuncShape {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(".kcovdf_layout")
	if s == nil {
		t.Fatalf("%s: no .kcovdf_layout section", path)
	}
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	funcs, err := ParseLayoutSection(data, binary.LittleEndian, path)
	if err != nil {
		t.Fatal(err)
	}
	return funcs
}

// The checked-in testdata/layoutelf/layout.elf must be what its build.sh
// makes with the current plugin: same records at the same addresses.
// Otherwise the fixture has drifted from the plugin; rebuild it.
func TestLayoutFixtureRebuilds(t *testing.T) {
	for _, tool := range []string{"clang-19", "llvm-strip-19", "ld.lld-19"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the fixture cannot be rebuilt here", tool)
		}
	}
	plugin := layoutFixturePlugin(t)
	dir := filepath.Join("testdata", "layoutelf")
	out := filepath.Join(t.TempDir(), "layout.elf")
	cmd := exec.Command("sh", filepath.Join(dir, "build.sh"), out)
	cmd.Env = append(os.Environ(), "PLUGIN="+plugin)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	old := layoutSectionRecords(t, filepath.Join(dir, "layout.elf"))
	fresh := layoutSectionRecords(t, out)
	if reflect.DeepEqual(old, fresh) {
		return
	}
	key := func(f FuncShape) string { return fmt.Sprintf("%s@%s %+v", f.Func, f.PC, f) }
	seen := map[string]bool{}
	for _, f := range fresh {
		seen[key(f)] = true
	}
	for _, f := range old {
		if !seen[key(f)] {
			t.Errorf("checked in, not rebuilt: %s", key(f))
		}
		delete(seen, key(f))
	}
	for k := range seen {
		t.Errorf("rebuilt, not checked in: %s", k)
	}
	t.Errorf("%s has drifted from the plugin: rebuild it with PLUGIN=%s sh %s",
		filepath.Join(dir, "layout.elf"), plugin, filepath.Join(dir, "build.sh"))
}
