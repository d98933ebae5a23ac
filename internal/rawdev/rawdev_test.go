//go:build linux

package rawdev

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"golang.org/x/sys/unix"
)

// A plain file stands in for the device: it answers no ioctl, but maps.
func TestPlainFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(p, make([]byte, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for name, err := range map[string]error{"init": Init(fd, 512), "enable": Enable(fd), "disable": Disable(fd)} {
		if err != unix.ENOTTY {
			t.Errorf("%s on a plain file: %v, want ENOTTY", name, err)
		}
	}
	if n, err := Dropped(fd); err != unix.ENOTTY || n != 0 {
		t.Errorf("dropped on a plain file: %d %v, want 0 ENOTTY", n, err)
	}
	m, err := Mmap(fd, 0, 8192, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Words) != 1024 {
		t.Fatalf("%d words mapped, want 1024", len(m.Words))
	}
	m.Words[1] = 0x0102030405060708
	if m.Mem[8] != 0x08 || m.Mem[15] != 0x01 {
		t.Fatalf("words are not little-endian views of the bytes: % x", m.Mem[8:16])
	}
	if err := m.Munmap(); err != nil || m.Mem != nil || m.Words != nil {
		t.Fatalf("munmap: %v, mapping %v", err, m)
	}
	if err := m.Munmap(); err != nil {
		t.Fatalf("second munmap: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err != unix.ENOENT {
		t.Fatalf("open of a missing file: %v, want ENOENT", err)
	}
	if words(make([]byte, 7)) != nil {
		t.Fatal("less than a word must view as nil")
	}
}

// MmapRead shows the file's words and refuses writes.
func TestMmapRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plain")
	data := make([]byte, 4096)
	data[8], data[15] = 0x08, 0x01
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	m, err := MmapRead(fd, 0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Munmap()
	if len(m.Words) != 512 || m.Words[1] != 0x0100000000000008 {
		t.Fatalf("%d words, word 1 %#x", len(m.Words), m.Words[1])
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a write through the read-only mapping did not fault")
			}
		}()
		m.Words[0] = 1
	}()
}
