//go:build linux

// Package device is the client of /sys/kernel/debug/kcov_dataflow: it
// allocates and maps a buffer, binds it to the calling thread, and takes
// consistent snapshots of what the kernel wrote.
//
// Tracing is per kernel task, that is per OS thread. A goroutine moves
// between threads whenever the Go scheduler likes, so Enable, the code to
// trace and Disable must run on one goroutine locked to its thread with
// runtime.LockOSThread; Collect does that. Goroutines the traced code
// starts run on other threads and are not traced.
package device

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/kcovdf/kcovdf/abi"
	"golang.org/x/sys/unix"
)

// DefaultPath is where debugfs shows the device.
const DefaultPath = "/sys/kernel/debug/kcov_dataflow"

// wordsPerPage is how many words one page holds: mmap takes whole pages,
// so a mappable buffer is a multiple of it.
var wordsPerPage = os.Getpagesize() / 8

// ErrNoDropCounter is returned by Dropped on kernels without the
// KCOV_DF_GET_DROPPED extension.
var ErrNoDropCounter = errors.New("this kernel has no drop counter (KCOV_DF_GET_DROPPED)")

// Device is one open file description of the device, with at most one
// buffer and one traced thread.
type Device struct {
	path string
	f    *os.File
	mem  []byte
	area []uint64
}

// Open opens the device at path (DefaultPath when empty).
func Open(path string) (*Device, error) {
	if path == "" {
		path = DefaultPath
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, explainOpen(path, err)
	}
	return &Device{path: path, f: f}, nil
}

func explainOpen(path string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("open %s: no such file (this kernel lacks kcov dataflow, or debugfs is not mounted: mount -t debugfs none /sys/kernel/debug; for a kernel that has it, try \"kcovdf lab run\")", path)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("open %s: permission denied (the device is mode 0600: run as root)", path)
	}
	return fmt.Errorf("open %s: %v", path, err)
}

// RoundWords returns the buffer size Init will ask for when given n, and
// why it differs: the kernel maps whole pages only, and bounds the size.
func RoundWords(n int) (int, string) {
	switch {
	case n < wordsPerPage:
		return wordsPerPage, fmt.Sprintf("raised to %d words: mmap maps whole pages (%d words each)", wordsPerPage, wordsPerPage)
	case n > abi.MaxWords:
		return abi.MaxWords, fmt.Sprintf("lowered to the kernel's maximum of %d words (128 MiB)", abi.MaxWords)
	case n%wordsPerPage != 0:
		r := (n + wordsPerPage - 1) / wordsPerPage * wordsPerPage
		return r, fmt.Sprintf("rounded up to %d words: mmap maps whole pages (%d words each)", r, wordsPerPage)
	}
	return n, ""
}

// Setup allocates a buffer of about n words (see RoundWords) and maps it.
// It returns the size used and the reason when it is not n.
func (d *Device) Setup(n int) (int, string, error) {
	words, why := RoundWords(n)
	if err := d.ioctl(abi.IoctlInitTrace, uintptr(words)); err != nil {
		switch {
		case errors.Is(err, unix.EBUSY):
			return 0, "", fmt.Errorf("%s: INIT_TRACE: this file already has a buffer (open the device again for another)", d.path)
		case errors.Is(err, unix.EINVAL):
			return 0, "", fmt.Errorf("%s: INIT_TRACE(%d): size outside %d..%d words", d.path, words, abi.MinWords, abi.MaxWords)
		case errors.Is(err, unix.ENOMEM):
			return 0, "", fmt.Errorf("%s: INIT_TRACE(%d): the kernel is out of memory for %d MiB (ask for fewer words)", d.path, words, words*8>>20)
		}
		return 0, "", fmt.Errorf("%s: INIT_TRACE(%d): %v", d.path, words, err)
	}
	mem, err := unix.Mmap(int(d.f.Fd()), 0, words*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return 0, "", fmt.Errorf("%s: mmap of %d words: %v (the buffer must be a whole number of pages, mapped shared at offset 0)", d.path, words, err)
	}
	d.mem = mem
	d.area = wordsOf(mem)
	return words, why, nil
}

func (d *Device) ioctl(cmd uint32, arg uintptr) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), uintptr(cmd), arg)
	if e != 0 {
		return e
	}
	return nil
}

// Enable binds the calling thread to the buffer and restarts its sequence
// numbers at 1. The caller must hold its thread (runtime.LockOSThread)
// until Disable.
func (d *Device) Enable() error {
	err := d.ioctl(abi.IoctlEnable, 0)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%s: ENABLE: no buffer yet (call Setup), or this file already traces a thread", d.path)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("%s: ENABLE: this thread is already traced through another kcov_dataflow file (disable that one first)", d.path)
	}
	return fmt.Errorf("%s: ENABLE: %v", d.path, err)
}

// Disable unbinds the calling thread, which must be the one that enabled.
func (d *Device) Disable() error {
	err := d.ioctl(abi.IoctlDisable, 0)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%s: DISABLE: this thread is not the traced one (in Go, Enable and Disable must run on one goroutine locked with runtime.LockOSThread)", d.path)
	}
	return fmt.Errorf("%s: DISABLE: %v", d.path, err)
}

// Dropped returns how many records the traced thread dropped since
// Enable because the buffer was full.
func (d *Device) Dropped() (uint64, error) {
	var n uint64
	err := ioctlOut(d.f.Fd(), abi.IoctlGetDropped, &n)
	if errors.Is(err, unix.ENOTTY) {
		return 0, ErrNoDropCounter
	}
	return n, err
}

// Words is the mapped area (area[0] is the count); nil before Setup. The
// kernel writes into it while a thread is traced.
func (d *Device) Words() []uint64 { return d.area }

// Count reads area[0] with acquire ordering: every word it counts has been
// written.
func (d *Device) Count() uint64 {
	if d.area == nil {
		return 0
	}
	return atomic.LoadUint64(&d.area[0])
}

// Reset restarts the collection: the kernel writes from area[1] again.
func (d *Device) Reset() {
	if d.area != nil {
		atomic.StoreUint64(&d.area[0], 0)
	}
}

// Snapshot copies area[0] and the words it counts (clamped to the buffer).
func (d *Device) Snapshot() []uint64 {
	if d.area == nil {
		return nil
	}
	n := min(d.Count(), uint64(len(d.area)-1))
	out := make([]uint64, n+1)
	copy(out[1:], d.area[1:1+n])
	out[0] = n
	return out
}

// File is the open device, e.g. to pass to a child process.
func (d *Device) File() *os.File { return d.f }

// Close unmaps and closes. A thread still traced through this file
// stops first when it is the caller.
func (d *Device) Close() error {
	if d.mem != nil {
		unix.Munmap(d.mem)
		d.mem, d.area = nil, nil
	}
	return d.f.Close()
}

// Collect runs fn traced on the calling goroutine's thread: reset,
// enable, fn, disable, and returns the words fn produced. It is the entry
// point for fuzzers that trace their own syscalls.
func (d *Device) Collect(fn func() error) ([]uint64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d.Reset()
	if err := d.Enable(); err != nil {
		return nil, err
	}
	ferr := fn()
	if err := d.Disable(); err != nil {
		return nil, err
	}
	return d.Snapshot(), ferr
}
