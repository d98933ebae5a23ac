package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGuestBuildsWithoutCgo: the lab puts this command in the guest's
// initramfs, built with CGO_ENABLED=0 for x86-64 Linux, where no C
// library exists. A dependency that needs cgo (a host-only export or
// query engine) must stay out of its imports; this build fails if one
// comes in, and the binary must load nothing at run time.
func TestGuestBuildsWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin, err := exec.LookPath("go") // go test puts its own go first in PATH
	if err != nil {
		t.Skip("no go command:", err)
	}
	out := filepath.Join(t.TempDir(), "kcovdf")
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/kcovdf: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the guest binary is dynamically linked (%v)", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the guest binary needs %v", libs)
	}
	if st, err := os.Stat(out); err == nil {
		t.Logf("static guest binary: %.1f MiB", float64(st.Size())/(1<<20))
	}
}
