//go:build linux

package rawdev

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// All unsafe code of the device layer: the view of a mapping as words, and
// an ioctl that writes through a pointer.

// words views b as little-endian machine words (the mapping is page
// aligned, so the alignment holds).
func words(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// ioctlPtr performs an ioctl whose argument is the address of *p; the
// conversion stays in the call expression, as the unsafe rules require.
func ioctlPtr(fd int, cmd uint32, p *uint64) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(cmd), uintptr(unsafe.Pointer(p)))
	if e != 0 {
		return e
	}
	return nil
}
