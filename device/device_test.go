//go:build linux

package device

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundWords(t *testing.T) {
	for _, c := range []struct {
		in, want int
		why      string
	}{
		{512, 512, ""},
		{1 << 20, 1 << 20, ""},
		{2, 512, "raised"},
		{513, 1024, "rounded up"},
		{1 << 25, 1 << 24, "maximum"},
	} {
		got, why := RoundWords(c.in)
		if got != c.want || !strings.Contains(why, c.why) || (c.why == "") != (why == "") {
			t.Errorf("RoundWords(%d) = %d %q, want %d %q", c.in, got, why, c.want, c.why)
		}
	}
}

func TestOpenExplains(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "kcov_dataflow"))
	if err == nil || !strings.Contains(err.Error(), "lacks kcov dataflow") || !strings.Contains(err.Error(), "kcovdf lab run") {
		t.Fatalf("missing device: %v", err)
	}
	if os.Getuid() == 0 {
		return
	}
	p := filepath.Join(t.TempDir(), "locked")
	os.WriteFile(p, nil, 0)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "run as root") {
		t.Fatalf("unreadable device: %v", err)
	}
}

// TestNotADevice: a regular file answers no ioctl; the errors must still
// say what failed.
func TestNotADevice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(p, make([]byte, 4096), 0o600)
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, _, err := d.Setup(512); err == nil || !strings.Contains(err.Error(), "INIT_TRACE") {
		t.Fatalf("Setup on a plain file: %v", err)
	}
	if err := d.Enable(); err == nil || !strings.Contains(err.Error(), "ENABLE") {
		t.Fatalf("Enable on a plain file: %v", err)
	}
	if d.Count() != 0 || d.Snapshot() != nil {
		t.Fatal("no buffer: count 0 and no snapshot")
	}
}
