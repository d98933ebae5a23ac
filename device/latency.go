//go:build linux

package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// syscalls are the operations MeasureSyscalls times.
var syscalls = []struct {
	name string
	run  func(buf []byte, fd int) error
}{
	{"getpid", func([]byte, int) error { unix.Getpid(); return nil }},
	{"open+close", func([]byte, int) error {
		fd, err := unix.Open("/proc/version", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	}},
	{"read 4KiB", func(buf []byte, fd int) error {
		_, err := unix.Pread(fd, buf, 0)
		return err
	}},
}

// ErrBufferFull: a traced round of MeasureSyscalls filled the buffer, so
// its time would flatter tracing; use fewer calls or more words.
var ErrBufferFull = errors.New("trace buffer full")

// MeasureSyscalls times getpid, open+close and a 4 KiB read on one locked
// thread, each in rounds of n calls, and returns the median per call.
// With d non-nil the thread is traced into d's buffer meanwhile (which
// is reset before each round so it never fills).
func MeasureSyscalls(d *Device, n, rounds int) ([]Latency, error) {
	if n < 1 || rounds < 1 {
		return nil, fmt.Errorf("latency: %d calls in %d rounds: want at least one of each", n, rounds)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// A 4 KiB file on tmpfs: reads hit the page cache, not a device.
	path := filepath.Join(os.TempDir(), fmt.Sprintf("kcovdf-latency-%d", unix.Getpid()))
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("latency: create %s: %w", path, err)
	}
	defer unix.Unlink(path)
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	if _, err := unix.Write(fd, buf); err != nil {
		return nil, err
	}
	if d != nil {
		if err := d.Enable(); err != nil {
			return nil, err
		}
		defer d.Disable()
	}
	var out []Latency
	for _, s := range syscalls {
		times := make([]time.Duration, 0, rounds)
		for range rounds {
			if d != nil {
				d.Reset()
			}
			start := time.Now()
			for range n {
				if err := s.run(buf, fd); err != nil {
					return nil, fmt.Errorf("latency: %s: %w", s.name, err)
				}
			}
			times = append(times, time.Since(start)/time.Duration(n))
			if d != nil {
				// A full buffer drops records, which is cheaper than
				// writing them: the round would flatter tracing.
				if dropped, err := d.Dropped(); err == nil && dropped > 0 {
					return nil, fmt.Errorf("latency: %s: the buffer filled during a round of %d calls (%d records dropped): %w", s.name, n, dropped, ErrBufferFull)
				}
			}
		}
		slices.Sort(times)
		out = append(out, Latency{Name: s.name, NS: times[len(times)/2].Nanoseconds(), Traced: d != nil})
	}
	return out, nil
}
