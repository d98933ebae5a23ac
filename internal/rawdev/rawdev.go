//go:build linux

// Package rawdev is the one place that speaks to a kcov dataflow device
// (or classic kcov) with system calls: open, the ioctls, mmap and munmap.
// It returns the kernel's errno unchanged; giving errors meaning is the
// job of its callers (device for users, conformance for the errno table).
package rawdev

import (
	"github.com/kcovdf/kcovdf/abi"
	"golang.org/x/sys/unix"
)

// Open opens the device read-write, close-on-exec.
func Open(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// Ioctl performs cmd with an integer argument (or none).
func Ioctl(fd int, cmd uint32, arg uintptr) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(cmd), arg)
	if e != 0 {
		return e
	}
	return nil
}

// Init allocates the buffer of fd: KCOV_DF_INIT_TRACE(words).
func Init(fd, words int) error { return Ioctl(fd, abi.IoctlInitTrace, uintptr(words)) }

// Enable binds the calling thread to the buffer of fd.
func Enable(fd int) error { return Ioctl(fd, abi.IoctlEnable, 0) }

// EnableFollow binds the calling thread to the buffer of fd in follow
// mode (KCOV_DF_ENABLE_FOLLOW), with chunks of chunkWords words (0: the
// default).
func EnableFollow(fd int, chunkWords uint64) error {
	return Ioctl(fd, abi.IoctlEnableFollow, uintptr(chunkWords))
}

// Disable unbinds the calling thread, which must be the traced one.
func Disable(fd int) error { return Ioctl(fd, abi.IoctlDisable, 0) }

// Dropped reads the traced thread's drop counter (KCOV_DF_GET_DROPPED).
func Dropped(fd int) (uint64, error) {
	var n uint64
	err := ioctlPtr(fd, abi.IoctlGetDropped, &n)
	return n, err
}

// Mapping is a mapped buffer: the bytes for Munmap, the words to read.
type Mapping struct {
	Mem   []byte
	Words []uint64
}

// Mmap maps length bytes of fd at offset, read-write, shared or private.
func Mmap(fd int, offset int64, length int, shared bool) (Mapping, error) {
	flags := unix.MAP_PRIVATE
	if shared {
		flags = unix.MAP_SHARED
	}
	return mmap(fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, flags)
}

// MmapRead maps length bytes of fd at offset, shared and read-only: the
// kernel's own view of a buffer, which a write through it would fault on.
func MmapRead(fd int, offset int64, length int) (Mapping, error) {
	return mmap(fd, offset, length, unix.PROT_READ, unix.MAP_SHARED)
}

func mmap(fd int, offset int64, length, prot, flags int) (Mapping, error) {
	mem, err := unix.Mmap(fd, offset, length, prot, flags)
	if err != nil {
		return Mapping{}, err
	}
	return Mapping{Mem: mem, Words: words(mem)}, nil
}

// Munmap undoes Mmap; m is empty afterwards.
func (m *Mapping) Munmap() error {
	if m.Mem == nil {
		return nil
	}
	err := unix.Munmap(m.Mem)
	*m = Mapping{}
	return err
}
