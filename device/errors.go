package device

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Sentinels for the errnos of the device ABI, so that a caller (a fuzzer)
// can act on a failure with errors.Is. Every error of this package that
// comes from the kernel is an *OpError, which matches one of them and
// also unwraps to the errno itself.
var (
	// ErrNoDevice: ENOENT, ENODEV — this kernel has no kcov dataflow
	// device, or debugfs is not mounted.
	ErrNoDevice = errors.New("no kcov dataflow device")
	// ErrPermission: EPERM, EACCES — the device is root's (mode 0600).
	ErrPermission = errors.New("permission denied")
	// ErrBusy: EBUSY — the file already has a buffer, or the thread is
	// already traced through another file.
	ErrBusy = errors.New("device busy")
	// ErrInvalid: EINVAL — the call is not allowed in the file's state
	// (no buffer yet, not the traced thread, size out of bounds).
	ErrInvalid = errors.New("invalid for the device's state")
	// ErrNotSupported: ENOTTY — the kernel does not know this ioctl (an
	// older ABI without the drop counter, or not a kcov dataflow file).
	ErrNotSupported = errors.New("not supported by this kernel")
	// ErrNoMemory: ENOMEM — the kernel could not allocate the buffer.
	ErrNoMemory = errors.New("kernel out of memory")
)

// sentinel maps an errno of the device ABI to its sentinel (nil if none).
func sentinel(errno syscall.Errno) error {
	switch errno {
	case syscall.ENOENT, syscall.ENODEV:
		return ErrNoDevice
	case syscall.EPERM, syscall.EACCES:
		return ErrPermission
	case syscall.EBUSY:
		return ErrBusy
	case syscall.EINVAL:
		return ErrInvalid
	case syscall.ENOTTY:
		return ErrNotSupported
	case syscall.ENOMEM:
		return ErrNoMemory
	}
	return nil
}

// OpError is a failed operation on the device.
type OpError struct {
	Op    string // "open", "INIT_TRACE", "mmap", "ENABLE", "ENABLE_FOLLOW", "DISABLE", "GET_DROPPED"; classic kcov's "kcov open", "KCOV_INIT_TRACE", "kcov mmap", "KCOV_ENABLE", "KCOV_DISABLE"
	Path  string // the device file
	Words int    // buffer size of INIT_TRACE and mmap; 0 elsewhere
	Err   error  // the errno
}

func (e *OpError) Error() string {
	op := e.Op
	if e.Words > 0 {
		op = fmt.Sprintf("%s(%d words)", e.Op, e.Words)
	}
	msg := fmt.Sprintf("%s: %s: %v", e.Path, op, e.Err)
	if e.Op == "open" || e.Op == "kcov open" {
		msg = fmt.Sprintf("open %s: %v", e.Path, e.Err) // as os.PathError says it
	}
	if why := e.why(); why != "" {
		msg += " (" + why + ")"
	}
	return msg
}

// why says what the errno means for the operation, in the ABI's terms.
func (e *OpError) why() string {
	var errno syscall.Errno
	if !errors.As(e.Err, &errno) {
		return ""
	}
	switch s := sentinel(errno); {
	case s == ErrNoDevice && e.Op == "kcov open":
		return "this kernel has no classic kcov (CONFIG_KCOV), or debugfs is not mounted on /sys/kernel/debug"
	case s == ErrPermission && e.Op == "kcov open":
		return "kcov is mode 0600: root only"
	case s == ErrBusy && e.Op == "KCOV_INIT_TRACE":
		return "this kcov file already has a buffer"
	case s == ErrBusy && e.Op == "KCOV_ENABLE":
		return "this thread already collects coverage through another kcov file"
	case s == ErrInvalid && strings.HasPrefix(e.Op, "KCOV_"):
		return "the size is out of kcov's bounds, or the call does not fit the file's state"
	case strings.HasPrefix(e.Op, "KCOV_") || strings.HasPrefix(e.Op, "kcov "):
		return ""
	case s == ErrNoDevice && e.Op == "open":
		return "this kernel has no kcov dataflow device, or debugfs is not mounted on /sys/kernel/debug"
	case s == ErrPermission && e.Op == "open":
		return "the device is mode 0600: root only"
	case s == ErrBusy && e.Op == "INIT_TRACE":
		return "this file already has a buffer; another open file can have its own"
	case s == ErrInvalid && e.Op == "INIT_TRACE":
		return "the size is out of the kernel's bounds"
	case s == ErrNoMemory && e.Op == "INIT_TRACE":
		return "the kernel cannot allocate a buffer this large"
	case s == ErrInvalid && e.Op == "mmap":
		return "the mapping must be shared, at offset 0, and cover exactly the buffer's whole pages"
	case s == ErrInvalid && e.Op == "ENABLE":
		return "the file has no buffer yet, or already traces a thread"
	case s == ErrBusy && e.Op == "ENABLE":
		return "this thread is already traced through another file"
	case s == ErrInvalid && e.Op == "DISABLE":
		return "this thread is not the traced one: Enable and Disable must run on one goroutine locked to its thread"
	case s == ErrNotSupported && e.Op == "ENABLE_FOLLOW":
		return "this kernel has no follow mode; kcovdf's kernel series (kernel/patches) adds it"
	case s == ErrInvalid && e.Op == "ENABLE_FOLLOW":
		return "the file has no buffer yet, already traces a task or a tree, was used without follow mode, or the chunk size is not a power of two from 64 words smaller than the buffer"
	case s == ErrBusy && e.Op == "ENABLE_FOLLOW":
		return "this thread is already traced through another file"
	case s == ErrNotSupported && e.Op == "GET_DROPPED":
		return "this kernel has no drop counter"
	case s == ErrNotSupported:
		return "not a kcov dataflow device"
	}
	return ""
}

// Unwrap returns the errno, so errors.Is(err, syscall.EBUSY) holds too.
func (e *OpError) Unwrap() error { return e.Err }

// Is matches the sentinel of the errno.
func (e *OpError) Is(target error) bool {
	var errno syscall.Errno
	return errors.As(e.Err, &errno) && sentinel(errno) == target && target != nil
}

func opError(op, path string, words int, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Path: path, Words: words, Err: err}
}
