//go:build linux

package device

import (
	"errors"
	"github.com/kcovdf/kcovdf/abi"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRoundWords(t *testing.T) {
	for _, c := range []struct {
		in, want int
		why      SizeReason
	}{
		{512, 512, SizeAsRequested},
		{1 << 20, 1 << 20, SizeAsRequested},
		{0, 512, SizeRaised},
		{2, 512, SizeRaised},
		{513, 1024, SizeRoundedUp},
		{1 << 25, 1 << 24, SizeCapped},
	} {
		t.Run(strings.ReplaceAll(c.why.String(), " ", "-"), func(t *testing.T) {
			got := RoundWords(c.in)
			if got != (Sizing{Requested: c.in, Words: c.want, Reason: c.why}) {
				t.Errorf("RoundWords(%d) = %+v, want %d words, %v", c.in, got, c.want, c.why)
			}
		})
	}
	if s := RoundWords(513).String(); s != "1024 words, not 513: rounded up to whole pages (a page holds 512 words; the maximum is 16777216)" {
		t.Errorf("Sizing.String() = %q", s)
	}
}

func TestOpenErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kcov_dataflow")
	_, err := Open(p)
	var op *OpError
	if !errors.As(err, &op) || op.Op != "open" || op.Path != p {
		t.Fatalf("missing device: %#v", err)
	}
	if !errors.Is(err, ErrNoDevice) || !errors.Is(err, syscall.ENOENT) || !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrBusy) {
		t.Fatalf("missing device must be ErrNoDevice, ENOENT and fs.ErrNotExist only: %v", err)
	}
	if strings.Contains(err.Error(), "kcovdf") {
		t.Fatalf("a library error names a command: %v", err)
	}
	if os.Getuid() == 0 {
		return
	}
	locked := filepath.Join(t.TempDir(), "locked")
	os.WriteFile(locked, nil, 0)
	if _, err := Open(locked); !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "root only") {
		t.Fatalf("unreadable device: %v", err)
	}
}

func TestSentinels(t *testing.T) {
	for _, c := range []struct {
		errno syscall.Errno
		want  error
	}{
		{syscall.ENOENT, ErrNoDevice}, {syscall.ENODEV, ErrNoDevice},
		{syscall.EPERM, ErrPermission}, {syscall.EACCES, ErrPermission},
		{syscall.EBUSY, ErrBusy}, {syscall.EINVAL, ErrInvalid},
		{syscall.ENOTTY, ErrNotSupported}, {syscall.ENOMEM, ErrNoMemory},
		{syscall.EFAULT, nil},
	} {
		t.Run(c.errno.Error(), func(t *testing.T) {
			err := error(&OpError{Op: "ENABLE", Path: "dev", Err: c.errno})
			for _, s := range []error{ErrNoDevice, ErrPermission, ErrBusy, ErrInvalid, ErrNotSupported, ErrNoMemory} {
				if errors.Is(err, s) != (s == c.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, !(s == c.want))
				}
			}
			if !errors.Is(err, c.errno) {
				t.Errorf("%v does not unwrap to %v", err, c.errno)
			}
		})
	}
}

// TestNotADevice: a regular file answers no ioctl; the errors must still
// say what failed, and match ErrNotSupported.
func TestNotADevice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(p, make([]byte, 4096), 0o600)
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Path() != p {
		t.Fatalf("Path() = %q, want %q", d.Path(), p)
	}
	s, err := d.Setup(1000)
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "INIT_TRACE(1024 words)") || s.Words != 1024 {
		t.Fatalf("Setup on a plain file: %+v %v", s, err)
	}
	if err := d.Enable(); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), p+": ENABLE: ") {
		t.Fatalf("Enable on a plain file: %v", err)
	}
	if _, err := d.Dropped(); !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "GET_DROPPED") {
		t.Fatalf("Dropped on a plain file: %v", err)
	}
	if d.Count() != 0 || d.Snapshot() != nil || d.Words() != nil {
		t.Fatal("no buffer: count 0 and no snapshot")
	}
}

func TestCaptureMetaSource(t *testing.T) {
	m := CaptureMeta("/tmp/dev", 1024, 7)
	if m.Source != "/tmp/dev" || m.BufferWords != 1024 || m.Fill != 7 || m.Format != abi.FormatV1 {
		t.Fatalf("CaptureMeta = %+v", m)
	}
}

func TestParseLatency(t *testing.T) {
	rows, err := ParseLatency(strings.NewReader("boot noise\n{\"name\":\"getpid\",\"ns\":400,\"traced\":false}\n  {\"name\":\"read 4KiB\",\"ns\":9,\"traced\":true}\n" +
		`{"name":"fstat","ns":900,"mode":"both","traced":true,"words":2214.5,"records":120,"pcs":218}` + "\n" +
		`{"name":"fstat","ns":950,"mode":"follow","traced":true,"words":2214.5,"records":120}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Latency{{Name: "getpid", NS: 400}, {Name: "read 4KiB", NS: 9, Traced: true},
		{Name: "fstat", NS: 900, Mode: "both", Traced: true, Words: 2214.5, Records: 120, PCs: 218},
		{Name: "fstat", NS: 950, Mode: "follow", Traced: true, Words: 2214.5, Records: 120}}
	if len(rows) != 4 || rows[0] != want[0] || rows[1] != want[1] || rows[2] != want[2] || rows[3] != want[3] {
		t.Fatalf("rows %+v, want %+v", rows, want)
	}
	for i, mode := range []string{"none", "dataflow", "both", "follow"} {
		if got := rows[i].Collector(); got != mode {
			t.Errorf("row %d collector %q, want %q", i, got, mode)
		}
	}
	for _, c := range []struct{ name, in, want string }{
		{"none", "no json here\n", "no latency lines"},
		{"broken", "x\n{\"name\":\n", "latency line 2"},
		{"no-ns", "{\"name\":\"getpid\"}\n", "want a name and ns > 0"},
		{"bad-mode", "{\"name\":\"getpid\",\"ns\":1,\"mode\":\"pc\"}\n", "mode"},
		{"negative", "{\"name\":\"getpid\",\"ns\":1,\"words\":-1}\n", "negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParseLatency(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func FuzzParseLatency(f *testing.F) {
	f.Add("{\"name\":\"getpid\",\"ns\":400,\"traced\":false}\n")
	f.Add("noise\n{\"name\":\"x\",\"ns\":-1}\n{")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ParseLatency(strings.NewReader(in))
		if err == nil && len(rows) == 0 {
			t.Fatal("no error and no rows")
		}
		for _, r := range rows {
			if r.Name == "" || r.NS <= 0 || r.Words < 0 || r.PCs < 0 || r.Records < 0 {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}
