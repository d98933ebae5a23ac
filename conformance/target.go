package conformance

// Target is a device under test.
type Target interface {
	Name() string
	Open() (File, error)
	// OpenReadOnly opens the device O_RDONLY.
	OpenReadOnly() (File, error)
	// NewTask starts a task (an OS thread of its own on a real kernel).
	NewTask() (Task, error)
	// ClassicKcov tells whether /sys/kernel/debug/kcov exists beside it.
	ClassicKcov() bool
}

// Task is a traceable kernel task.
type Task interface {
	// Work makes the task run n small syscalls through instrumented code,
	// returning to user space after each.
	Work(n int) error
	// ForkWork forks a child of the task that does work and exits, and
	// waits for it.
	ForkWork() error
	// ClassicKcov runs classic KCOV (trace-pc) on the task around some
	// work and returns how many pcs it collected.
	ClassicKcov() (int, error)
	// Exit ends the task.
	Exit()
}

// File is an open file description of the device.
type File interface {
	// Ioctl performs cmd on behalf of task; GET_DROPPED returns the count.
	Ioctl(task Task, cmd uint32, arg uint64) (uint64, error)
	// Mmap maps the buffer; the words alias it.
	Mmap(offset, length uint64, shared bool) ([]uint64, error)
	// MmapRead maps the buffer PROT_READ, MAP_SHARED.
	MmapRead(offset, length uint64) ([]uint64, error)
	Close(task Task) error
}
