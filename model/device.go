package model

import (
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/kcovdf/kcovdf/abi"
)

// Device is /sys/kernel/debug/kcov_dataflow and the tasks that use it.
type Device struct {
	// Mem is the kernel address space the callbacks read from.
	Mem *Memory
	// nextID is atomic: tasks of a followed tree fork on goroutines of
	// their own.
	nextID atomic.Int64
	// binding stands for the descriptions' spinlocks where another task
	// looks at a binding: a close queueing an unbind on the traced task,
	// while that task returns to user space or unbinds.
	binding sync.Mutex
}

// NewDevice returns a device over mem (a new empty one when nil).
func NewDevice(mem *Memory) *Device {
	if mem == nil {
		mem = NewMemory()
	}
	return &Device{Mem: mem}
}

// buffer is a vmalloc'd area shared by a file, its mappings and the task
// writing into it; in the kernel it is reference counted so that it
// outlives every writer (docs/device.md), which Go's collector gives us here.
type buffer struct {
	words   []uint64
	dropped uint64
	// closed: the last file reference is gone; a task still bound to the
	// buffer records nothing more. Atomic: followers read it as they
	// record while another task closes.
	closed atomic.Bool
	// follow is set by the first KCOV_DF_ENABLE_FOLLOW, v1 by the first
	// plain ENABLE: a buffer keeps one layout for its life.
	follow *followState
	v1     bool
}

// File is one open file description of the device.
type File struct {
	dev  *Device
	buf  *buffer
	task *Task
	refs int
	// readOnly: opened O_RDONLY. The ioctls do not check the mode (as
	// kcov); only a writable shared mapping is refused.
	readOnly bool
}

// Task is a kernel task that may be traced.
type Task struct {
	// ID is the task's tid; Tgid its process (its own ID for a process,
	// the creator's Tgid for a thread); Ptid the task that created it.
	ID, Tgid, Ptid int
	// Comm is the task's name, which Exec changes.
	Comm string
	dev  *Device
	// binding, when tracing: the file and its buffer.
	file *File
	buf  *buffer
	seq  uint32
	// inIRQ models interrupt context: in_task() is false (docs/device.md).
	inIRQ bool
	// inCallback guards re-entry (docs/device.md).
	inCallback bool
	exited     bool
	// unbindOnReturn: files closed by another task while this one was
	// bound to them; the task unbinds from them on its next return to user
	// space (the kernel's task_work), unless it already did.
	unbindOnReturn []*File
	// OnRecord, when set, sees the offset and length of every record
	// written: the ground truth that decoders are tested against.
	OnRecord func(offset, words int)
	// fol is the task's part of a followed tree (follow.go).
	fol followBinding
}

// NewTask starts a task.
func (d *Device) NewTask() *Task {
	id := int(d.nextID.Add(1))
	return &Task{ID: id, Tgid: id, Comm: "task", dev: d}
}

// Open opens the device read-write.
func (d *Device) Open() *File { return &File{dev: d, refs: 1} }

// OpenReadOnly opens the device O_RDONLY.
func (d *Device) OpenReadOnly() *File { return &File{dev: d, refs: 1, readOnly: true} }

// Dup adds a reference to the file description (dup, fork).
func (f *File) Dup() *File { f.refs++; return f }

// Ioctl performs cmd on behalf of t. GET_DROPPED returns its count.
func (f *File) Ioctl(t *Task, cmd uint32, arg uint64) (uint64, error) {
	if f.refs <= 0 {
		return 0, syscall.EBADF
	}
	switch cmd {
	case abi.IoctlInitTrace:
		if f.buf != nil {
			return 0, syscall.EBUSY
		}
		if arg < abi.MinWords || arg > abi.MaxWords {
			return 0, syscall.EINVAL
		}
		f.buf = &buffer{words: make([]uint64, arg)}
		return 0, nil
	case abi.IoctlEnable:
		t.dropStale()
		if f.buf == nil || f.task != nil || f.buf.follow != nil {
			return 0, syscall.EINVAL
		}
		if t.file != nil {
			// Already traced through another file: refuse rather than
			// re-target silently (docs/device.md).
			return 0, syscall.EBUSY
		}
		f.dev.binding.Lock()
		f.task = t
		f.dev.binding.Unlock()
		t.file, t.buf = f, f.buf
		t.seq = 0
		f.buf.dropped = 0
		f.buf.v1 = true
		return 0, nil
	case abi.IoctlEnableFollow:
		return 0, f.enableFollow(t, arg)
	case abi.IoctlDisable:
		if f.task != t {
			return 0, syscall.EINVAL
		}
		if fs := f.buf.follow; fs != nil {
			fs.stop()
		}
		t.unbind()
		return 0, nil
	case abi.IoctlGetDropped:
		if f.buf == nil {
			return 0, nil
		}
		if fs := f.buf.follow; fs != nil {
			return fs.dropped.Load(), nil
		}
		return f.buf.dropped, nil
	}
	return 0, syscall.ENOTTY
}

// Mmap maps the buffer read-write: offset 0, exactly its length once
// rounded to pages, shared. The returned words alias the buffer.
func (f *File) Mmap(offset, length uint64, shared bool) ([]uint64, error) {
	return f.MmapProt(offset, length, shared, true)
}

// MmapProt maps the buffer, writable or not. A writable shared mapping of
// a read-only file is refused by mmap itself (EACCES) before the device is
// asked; the device accepts any shared mapping, whatever the open mode.
func (f *File) MmapProt(offset, length uint64, shared, write bool) ([]uint64, error) {
	if f.refs <= 0 {
		return nil, syscall.EBADF
	}
	if f.readOnly && shared && write {
		return nil, syscall.EACCES
	}
	if f.buf == nil || offset != 0 || !shared || length == 0 {
		return nil, syscall.EINVAL
	}
	// The kernel sees the vma, whose length is whole pages.
	vma := (length + PageSize - 1) &^ (PageSize - 1)
	if vma != uint64(len(f.buf.words))*8 {
		return nil, syscall.EINVAL
	}
	return f.buf.words, nil
}

// Close drops one reference; the last one releases the file. A traced
// task that closes unbinds first. Another traced task cannot be touched
// from here: its buffer is marked closed, so it stops recording at its
// next callback, and it unbinds itself on its next return to user space
// (ReturnToUser), or earlier at exit or at its next ENABLE (so it never
// gets EBUSY for a closed file).
func (f *File) Close(t *Task) error {
	if f.refs <= 0 {
		return syscall.EBADF
	}
	f.refs--
	if f.refs > 0 {
		return nil
	}
	if f.buf != nil {
		f.buf.closed.Store(true)
		if fs := f.buf.follow; fs != nil {
			fs.stop()
		}
	}
	f.dev.binding.Lock()
	traced := f.task
	if traced != nil && traced != t {
		traced.unbindOnReturn = append(traced.unbindOnReturn, f)
	}
	f.dev.binding.Unlock()
	if traced == t {
		t.unbind()
	}
	return nil
}

// ReturnToUser runs what the kernel does as t goes back to user space
// after a system call: the unbinds queued by closes from other tasks. Each
// unbinds t only if t is still bound to that file: t may have unbound
// itself meanwhile and be bound to another file now.
func (t *Task) ReturnToUser() {
	t.dev.binding.Lock()
	queued := t.unbindOnReturn
	t.unbindOnReturn = nil
	t.dev.binding.Unlock()
	for _, f := range queued {
		t.dev.binding.Lock()
		bound := f.task == t
		t.dev.binding.Unlock()
		if bound {
			t.unbind()
		}
	}
}

// Bound tells whether t is bound to a file, recording or not.
func (t *Task) Bound() bool { return t.file != nil }

func (t *Task) unbind() {
	t.dev.binding.Lock()
	if t.file != nil && t.file.task == t {
		t.file.task = nil
	}
	t.dev.binding.Unlock()
	t.leaveTree()
	t.file, t.buf = nil, nil
}

// Fork returns a child process of t. The child is not traced
// (docs/device.md), unless t is in a followed tree, which the child then
// joins (docs/follow.md).
func (t *Task) Fork() *Task {
	c := t.dev.NewTask()
	c.Ptid, c.Comm = t.ID, t.Comm
	t.join(c)
	return c
}

// Thread returns a new thread of t's process, traced as Fork's child is.
func (t *Task) Thread() *Task {
	c := t.Fork()
	c.Tgid = t.Tgid
	return c
}

// Exit ends t and unbinds its file (docs/device.md); queued unbinds then
// find nothing to do. In a followed tree its last chunk is marked exited.
func (t *Task) Exit() {
	t.markExited()
	t.unbind()
	t.ReturnToUser()
	t.exited = true
}

// Tracing tells whether t's callbacks record.
func (t *Task) Tracing() bool { return t.buf != nil && !t.stale() }

// stale: t is bound to a buffer it may no longer record into: its file
// was closed, or the followed tree it joined was stopped.
func (t *Task) stale() bool {
	return t.buf != nil && (t.buf.closed.Load() || t.fol.on && t.fol.gen != t.buf.follow.gen.Load())
}

// dropStale lets go of a stale binding, and tells whether there was one.
// Both ENABLEs do it first, before any check, as the kernel does: a
// refused ENABLE still unbinds the task.
func (t *Task) dropStale() bool {
	if !t.stale() {
		return false
	}
	t.unbind()
	return true
}

// Interrupt runs fn as if in interrupt context on t's CPU: nothing it
// triggers is recorded (docs/device.md).
func (t *Task) Interrupt(fn func()) {
	old := t.inIRQ
	t.inIRQ = true
	defer func() { t.inIRQ = old }()
	fn()
}
