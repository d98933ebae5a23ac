//go:build linux

package device

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The only unsafe code of the package: the view of the mapping as words,
// and an ioctl that writes through a pointer.

func wordsOf(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// ioctlOut performs an ioctl whose argument is the address of *p; the
// conversion stays in the call expression, as the unsafe rules require.
func ioctlOut(fd uintptr, cmd uint32, p *uint64) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(cmd), uintptr(unsafe.Pointer(p)))
	if e != 0 {
		return e
	}
	return nil
}
