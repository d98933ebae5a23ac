//go:build linux

package device

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/rawdev"
)

// DefaultPath is where debugfs shows the device.
const DefaultPath = "/sys/kernel/debug/kcov_dataflow"

// wordsPerPage is how many words one page holds: mmap takes whole pages,
// so a mappable buffer is a multiple of it.
var wordsPerPage = os.Getpagesize() / 8

// Device is one open file description of the device, with at most one
// buffer and one traced thread.
type Device struct {
	path string
	f    *os.File
	m    rawdev.Mapping
}

// Open opens the device at path (DefaultPath when empty). Errors are
// *OpError: errors.Is(err, ErrNoDevice) when the kernel lacks it.
func Open(path string) (*Device, error) {
	if path == "" {
		path = DefaultPath
	}
	fd, err := rawdev.Open(path)
	if err != nil {
		return nil, opError("open", path, 0, err)
	}
	return &Device{path: path, f: os.NewFile(uintptr(fd), path)}, nil
}

// Path is the device file this Device opened.
func (d *Device) Path() string { return d.path }

func (d *Device) fd() int { return int(d.f.Fd()) }

// SizeReason says why a buffer size differs from the one requested.
type SizeReason int

// Why a size changed; the kernel maps whole pages and bounds the size.
const (
	SizeAsRequested SizeReason = iota
	SizeRaised                 // below one page: mmap maps whole pages
	SizeRoundedUp              // not a whole number of pages
	SizeCapped                 // above the kernel's maximum, abi.MaxWords
)

func (r SizeReason) String() string {
	switch r {
	case SizeAsRequested:
		return "as requested"
	case SizeRaised:
		return "raised to one page"
	case SizeRoundedUp:
		return "rounded up to whole pages"
	case SizeCapped:
		return "lowered to the kernel's maximum"
	}
	return fmt.Sprintf("SizeReason(%d)", int(r))
}

// Sizing is the buffer size Setup uses for a request, and why.
type Sizing struct {
	Requested int // words asked for
	Words     int // words allocated and mapped
	Reason    SizeReason
}

func (s Sizing) String() string {
	if s.Reason == SizeAsRequested {
		return fmt.Sprintf("%d words", s.Words)
	}
	return fmt.Sprintf("%d words, not %d: %v (a page holds %d words; the maximum is %d)", s.Words, s.Requested, s.Reason, wordsPerPage, abi.MaxWords)
}

// RoundWords returns the buffer size Setup will use when asked for n
// words: the kernel maps whole pages only, and bounds the size.
func RoundWords(n int) Sizing {
	s := Sizing{Requested: n, Words: n}
	switch {
	case n < wordsPerPage:
		s.Words, s.Reason = wordsPerPage, SizeRaised
	case n > abi.MaxWords:
		s.Words, s.Reason = abi.MaxWords, SizeCapped
	case n%wordsPerPage != 0:
		s.Words, s.Reason = (n+wordsPerPage-1)/wordsPerPage*wordsPerPage, SizeRoundedUp
	}
	return s
}

// Setup allocates a buffer of about n words (see RoundWords) and maps it.
func (d *Device) Setup(n int) (Sizing, error) {
	s := RoundWords(n)
	if err := rawdev.Init(d.fd(), s.Words); err != nil {
		return s, opError("INIT_TRACE", d.path, s.Words, err)
	}
	m, err := rawdev.Mmap(d.fd(), 0, s.Words*8, true)
	if err != nil {
		return s, opError("mmap", d.path, s.Words, err)
	}
	d.m = m
	return s, nil
}

// Enable binds the calling thread to the buffer and restarts its sequence
// numbers at 1. The caller must hold its thread (runtime.LockOSThread)
// until Disable.
func (d *Device) Enable() error { return opError("ENABLE", d.path, 0, rawdev.Enable(d.fd())) }

// EnableFollow is Enable in follow mode (docs/follow.md): every thread
// and process the calling thread creates from now on, transitively, is
// traced too, each into chunks of chunkWords words of its own (0:
// abi.FollowDefaultChunk). A kernel without the mode fails with
// ErrNotSupported. A buffer keeps the layout of its first enable: use
// one Device for follow mode and another for Enable.
func (d *Device) EnableFollow(chunkWords int) error {
	return opError("ENABLE_FOLLOW", d.path, 0, rawdev.EnableFollow(d.fd(), uint64(chunkWords)))
}

// Disable unbinds the calling thread, which must be the one that enabled.
func (d *Device) Disable() error { return opError("DISABLE", d.path, 0, rawdev.Disable(d.fd())) }

// Dropped returns how many records the traced thread dropped since
// Enable because the buffer was full. Kernels without the drop counter
// fail with ErrNotSupported.
func (d *Device) Dropped() (uint64, error) {
	n, err := rawdev.Dropped(d.fd())
	return n, opError("GET_DROPPED", d.path, 0, err)
}

// Words is the mapped area (area[0] is the count); nil before Setup. The
// kernel writes into it while a thread is traced.
func (d *Device) Words() []uint64 { return d.m.Words }

// Count reads area[0] with acquire ordering: every word it counts has been
// written.
func (d *Device) Count() uint64 {
	if d.m.Words == nil {
		return 0
	}
	return atomic.LoadUint64(&d.m.Words[0])
}

// Reset restarts the collection: the kernel writes from area[1] again.
func (d *Device) Reset() {
	if d.m.Words != nil {
		atomic.StoreUint64(&d.m.Words[0], 0)
	}
}

// Snapshot copies area[0] and the words it counts (clamped to the buffer).
func (d *Device) Snapshot() []uint64 {
	area := d.m.Words
	if area == nil {
		return nil
	}
	n := min(d.Count(), uint64(len(area)-1))
	out := make([]uint64, n+1)
	copy(out[1:], area[1:1+n])
	out[0] = n
	return out
}

// File is the open device, e.g. to pass to a child process.
func (d *Device) File() *os.File { return d.f }

// Close unmaps and closes. A thread still traced through this file
// stops first when it is the caller.
func (d *Device) Close() error {
	d.m.Munmap()
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
