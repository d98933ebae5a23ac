//go:build linux

package device

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Pair is two syscall sequences that differ only in a value: a flag, a
// size, an offset, a file name, an fd number, a path to an errno. They
// are what "kcovdf feedback" runs to see which feedback tells them apart.
type Pair struct {
	Name  string // what differs, e.g. "open O_RDONLY vs O_RDWR"
	Class string // the kind of value: flags, size, offset, name, errno, fd; control: none
	A, B  func(f *Fixture)
}

// Fixture is the state a pair's sequences run against, the same for both:
// files in a scratch directory and an open descriptor on one of them.
type Fixture struct {
	Dir   string
	File  string // 4 KiB of data
	Other string // another 4 KiB file, a name of the same length
	Fd    int    // File, open read-write
	Buf   []byte // 8 KiB
}

// NewFixture makes the scratch directory under dir and its files.
func NewFixture(dir string) (*Fixture, error) {
	d, err := os.MkdirTemp(dir, "kcovdf-feedback-")
	if err != nil {
		return nil, err
	}
	f := &Fixture{Dir: d, File: filepath.Join(d, "data.a"), Other: filepath.Join(d, "data.b"), Buf: make([]byte, 8192)}
	for _, p := range []string{f.File, f.Other} {
		if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
			os.RemoveAll(d)
			return nil, err
		}
	}
	if f.Fd, err = unix.Open(f.File, unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
		os.RemoveAll(d)
		return nil, err
	}
	return f, nil
}

// Close removes the scratch directory.
func (f *Fixture) Close() error {
	unix.Close(f.Fd)
	return os.RemoveAll(f.Dir)
}

func (f *Fixture) openClose(path string, flags int, mode uint32) {
	if fd, err := unix.Open(path, flags|unix.O_CLOEXEC, mode); err == nil {
		unix.Close(fd)
	}
}

// Pairs are the fixed set "kcovdf feedback" measures, in a fixed order.
func Pairs() []Pair {
	const badFd = 977
	return []Pair{
		// The control: nothing differs, so nothing may tell them apart.
		{"control: the same open twice", "control",
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY, 0) },
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY, 0) }},
		{"open O_RDONLY vs O_RDWR", "flags",
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY, 0) },
			func(f *Fixture) { f.openClose(f.File, unix.O_RDWR, 0) }},
		{"open O_RDONLY vs O_RDONLY|O_NOFOLLOW", "flags",
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY, 0) },
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY|unix.O_NOFOLLOW, 0) }},
		{"open O_RDWR vs O_RDWR|O_APPEND", "flags",
			func(f *Fixture) { f.openClose(f.File, unix.O_RDWR, 0) },
			func(f *Fixture) { f.openClose(f.File, unix.O_RDWR|unix.O_APPEND, 0) }},
		{"open data.a vs data.b", "name",
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY, 0) },
			func(f *Fixture) { f.openClose(f.Other, unix.O_RDONLY, 0) }},
		{"open existing vs missing (ENOENT)", "errno",
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY, 0) },
			func(f *Fixture) { f.openClose(f.File+"x", unix.O_RDONLY, 0) }},
		{"open file vs O_DIRECTORY on it (ENOTDIR)", "errno",
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY, 0) },
			func(f *Fixture) { f.openClose(f.File, unix.O_RDONLY|unix.O_DIRECTORY, 0) }},
		{"creat mode 0600 vs 0644", "flags",
			func(f *Fixture) {
				p := f.File + ".n"
				f.openClose(p, unix.O_CREAT|unix.O_WRONLY, 0o600)
				unix.Unlink(p)
			},
			func(f *Fixture) {
				p := f.File + ".n"
				f.openClose(p, unix.O_CREAT|unix.O_WRONLY, 0o644)
				unix.Unlink(p)
			}},
		{"pread 1 vs 4096 bytes", "size",
			func(f *Fixture) { unix.Pread(f.Fd, f.Buf[:1], 0) },
			func(f *Fixture) { unix.Pread(f.Fd, f.Buf[:4096], 0) }},
		{"pread at 0 vs at 100", "offset",
			func(f *Fixture) { unix.Pread(f.Fd, f.Buf[:64], 0) },
			func(f *Fixture) { unix.Pread(f.Fd, f.Buf[:64], 100) }},
		{"pread at 0 vs past the end", "offset",
			func(f *Fixture) { unix.Pread(f.Fd, f.Buf[:64], 0) },
			func(f *Fixture) { unix.Pread(f.Fd, f.Buf[:64], 8192) }},
		{"pwrite 1 vs 100 bytes", "size",
			func(f *Fixture) { unix.Pwrite(f.Fd, f.Buf[:1], 0) },
			func(f *Fixture) { unix.Pwrite(f.Fd, f.Buf[:100], 0) }},
		{"lseek SEEK_SET vs SEEK_END", "flags",
			func(f *Fixture) { unix.Seek(f.Fd, 0, unix.SEEK_SET) },
			func(f *Fixture) { unix.Seek(f.Fd, 0, unix.SEEK_END) }},
		{"lseek to 0 vs to 10", "offset",
			func(f *Fixture) { unix.Seek(f.Fd, 0, unix.SEEK_SET) },
			func(f *Fixture) { unix.Seek(f.Fd, 10, unix.SEEK_SET) }},
		{"fstat valid fd vs bad fd (EBADF)", "errno",
			func(f *Fixture) { var st unix.Stat_t; unix.Fstat(f.Fd, &st) },
			func(f *Fixture) { var st unix.Stat_t; unix.Fstat(badFd, &st) }},
		{"close bad fd 977 vs 978 (both EBADF)", "fd",
			func(f *Fixture) { unix.Close(badFd) },
			func(f *Fixture) { unix.Close(badFd + 1) }},
		{"dup3 to fd 50 vs fd 60", "fd",
			func(f *Fixture) { unix.Dup3(f.Fd, 50, unix.O_CLOEXEC); unix.Close(50) },
			func(f *Fixture) { unix.Dup3(f.Fd, 60, unix.O_CLOEXEC); unix.Close(60) }},
		{"fcntl F_GETFL vs F_GETFD", "flags",
			func(f *Fixture) { unix.FcntlInt(uintptr(f.Fd), unix.F_GETFL, 0) },
			func(f *Fixture) { unix.FcntlInt(uintptr(f.Fd), unix.F_GETFD, 0) }},
		// The second call of each puts the file back as it was; it is the
		// same on both sides, so that only the first call's value differs.
		{"fcntl F_SETFL 0 vs O_NONBLOCK", "flags",
			func(f *Fixture) { f.setFL(0) },
			func(f *Fixture) { f.setFL(unix.O_NONBLOCK) }},
		{"ftruncate to 4096 vs 4000", "size",
			func(f *Fixture) { unix.Ftruncate(f.Fd, 4096); unix.Ftruncate(f.Fd, 4096) },
			func(f *Fixture) { unix.Ftruncate(f.Fd, 4000); unix.Ftruncate(f.Fd, 4096) }},
		{"faccessat F_OK vs R_OK|W_OK", "flags",
			func(f *Fixture) { unix.Faccessat(unix.AT_FDCWD, f.File, unix.F_OK, 0) },
			func(f *Fixture) { unix.Faccessat(unix.AT_FDCWD, f.File, unix.R_OK|unix.W_OK, 0) }},
		{"mmap 4 KiB vs 64 KiB", "size",
			func(f *Fixture) { mapUnmap(4096, unix.PROT_READ) },
			func(f *Fixture) { mapUnmap(65536, unix.PROT_READ) }},
		{"mmap PROT_READ vs PROT_READ|PROT_WRITE", "flags",
			func(f *Fixture) { mapUnmap(4096, unix.PROT_READ) },
			func(f *Fixture) { mapUnmap(4096, unix.PROT_READ|unix.PROT_WRITE) }},
		{"pipe2 0 vs O_NONBLOCK", "flags",
			func(f *Fixture) { pipeClose(0) },
			func(f *Fixture) { pipeClose(unix.O_NONBLOCK) }},
		{"kill self vs missing pid (ESRCH), signal 0", "errno",
			func(f *Fixture) { unix.Kill(unix.Getpid(), 0) },
			func(f *Fixture) { unix.Kill(4000000, 0) }},
		{"getrlimit NOFILE vs STACK", "flags",
			func(f *Fixture) { var r unix.Rlimit; unix.Getrlimit(unix.RLIMIT_NOFILE, &r) },
			func(f *Fixture) { var r unix.Rlimit; unix.Getrlimit(unix.RLIMIT_STACK, &r) }},
		{"getpriority PRIO_PROCESS vs PRIO_PGRP", "flags",
			func(f *Fixture) { unix.Getpriority(unix.PRIO_PROCESS, 0) },
			func(f *Fixture) { unix.Getpriority(unix.PRIO_PGRP, 0) }},
	}
}

func (f *Fixture) setFL(flags int) {
	unix.FcntlInt(uintptr(f.Fd), unix.F_SETFL, flags)
	unix.FcntlInt(uintptr(f.Fd), unix.F_SETFL, 0)
}

func mapUnmap(n int, prot int) {
	if b, err := unix.Mmap(-1, 0, n, prot, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS); err == nil {
		unix.Munmap(b)
	}
}

func pipeClose(flags int) {
	var p [2]int
	if unix.Pipe2(p[:], flags|unix.O_CLOEXEC) == nil {
		unix.Close(p[0])
		unix.Close(p[1])
	}
}

// Capture is what both tracers collected over one run of a sequence.
type Capture struct {
	Words []uint64 // dataflow's area, area[0] first
	PCs   []uint64 // classic kcov's PCs
	// Full is set when either buffer filled.
	Full bool
}

// Collect runs fn once on this locked thread with both tracers on: kcov
// enabled first and disabled last, so that it sees all of dataflow's
// part. Buffers are reset before.
func (tr Tracers) Collect(fn func()) (Capture, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tr.reset()
	if err := tr.enable(); err != nil {
		return Capture{}, err
	}
	fn()
	tr.disable()
	var c Capture
	if d := tr.Dataflow; d != nil {
		c.Words = d.Snapshot()
		if n, err := d.Dropped(); err == nil && n > 0 {
			c.Full = true
		}
	}
	if k := tr.Kcov; k != nil {
		c.PCs = k.PCs()
		c.Full = c.Full || k.Count() > uint64(k.Cap())
	}
	return c, nil
}

// String names a pair for errors.
func (p Pair) String() string { return fmt.Sprintf("%s (%s)", p.Name, p.Class) }
