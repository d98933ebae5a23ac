package model

import (
	"errors"
	"syscall"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

// step is one call of the errno table: who calls what on which file.
type step struct {
	file int // index into the files opened by the case
	task int // index into the tasks of the case
	op   string
	arg  uint64
	want error
}

func run(t *testing.T, name string, nfiles, ntasks int, steps []step) {
	t.Helper()
	dev := NewDevice(nil)
	var files []*File
	var tasks []*Task
	for range nfiles {
		files = append(files, dev.Open())
	}
	for range ntasks {
		tasks = append(tasks, dev.NewTask())
	}
	for i, s := range steps {
		f, tk := files[s.file], tasks[s.task]
		var err error
		switch s.op {
		case "init":
			_, err = f.Ioctl(tk, abi.IoctlInitTrace, s.arg)
		case "enable":
			_, err = f.Ioctl(tk, abi.IoctlEnable, 0)
		case "disable":
			_, err = f.Ioctl(tk, abi.IoctlDisable, 0)
		case "ioctl":
			_, err = f.Ioctl(tk, uint32(s.arg), 0)
		case "mmap":
			_, err = f.Mmap(0, s.arg, true)
		case "mmap-off":
			_, err = f.Mmap(PageSize, s.arg, true)
		case "mmap-private":
			_, err = f.Mmap(0, s.arg, false)
		case "mmap-read":
			_, err = f.MmapProt(0, s.arg, true, false)
		case "mmap-private-read":
			_, err = f.MmapProt(0, s.arg, false, false)
		case "reopen-ro":
			files[s.file] = dev.OpenReadOnly()
		case "close":
			err = f.Close(tk)
		case "exit":
			tk.Exit()
		default:
			t.Fatalf("%s: unknown op %q", name, s.op)
		}
		if !errors.Is(err, s.want) && !(err == nil && s.want == nil) {
			t.Errorf("%s: step %d %s(%d) on file %d by task %d: got %v, want %v", name, i, s.op, s.arg, s.file, s.task, err, s.want)
		}
	}
}

func TestDeviceErrnos(t *testing.T) {
	const n = 512 // words in one page
	cases := []struct {
		name         string
		files, tasks int
		steps        []step
	}{
		{"init bounds", 1, 1, []step{{op: "init", arg: 1, want: syscall.EINVAL}, {op: "init", arg: abi.MaxWords + 1, want: syscall.EINVAL}, {op: "init", arg: 2}}},
		{"init max", 1, 1, []step{{op: "init", arg: abi.MaxWords}}},
		{"init twice", 1, 1, []step{{op: "init", arg: n}, {op: "init", arg: n, want: syscall.EBUSY}}},
		{"mmap without buffer", 1, 1, []step{{op: "mmap", arg: n * 8, want: syscall.EINVAL}}},
		// The kernel sees the vma, rounded up to whole pages: a shorter length
		// that rounds to the buffer is accepted.
		{"mmap rules", 1, 1, []step{{op: "init", arg: n}, {op: "mmap", arg: n*8 - 8}, {op: "mmap", arg: n*8 + 8, want: syscall.EINVAL}, {op: "mmap-off", arg: n * 8, want: syscall.EINVAL}, {op: "mmap-private", arg: n * 8, want: syscall.EINVAL}, {op: "mmap", arg: n * 8}}},
		{"mmap needs whole pages", 1, 1, []step{{op: "init", arg: 100}, {op: "mmap", arg: 800, want: syscall.EINVAL}}},
		{"enable without buffer", 1, 1, []step{{op: "enable", want: syscall.EINVAL}}},
		{"enable twice", 1, 2, []step{{op: "init", arg: n}, {op: "enable"}, {op: "enable", want: syscall.EINVAL}, {task: 1, op: "enable", want: syscall.EINVAL}}},
		{"disable by other task", 1, 2, []step{{op: "init", arg: n}, {op: "enable"}, {task: 1, op: "disable", want: syscall.EINVAL}, {op: "disable"}, {op: "disable", want: syscall.EINVAL}}},
		{"unknown ioctl", 1, 1, []step{{op: "ioctl", arg: 0x6499, want: syscall.ENOTTY}, {op: "ioctl", arg: uint64(abi.IoctlRemoteEnable), want: syscall.ENOTTY}}},
		{"second fd same task", 2, 1, []step{{op: "init", arg: n}, {file: 1, op: "init", arg: n}, {op: "enable"}, {file: 1, op: "enable", want: syscall.EBUSY}, {op: "disable"}, {file: 1, op: "enable"}}},
		{"two fds two tasks", 2, 2, []step{{op: "init", arg: n}, {file: 1, op: "init", arg: n}, {op: "enable"}, {file: 1, task: 1, op: "enable"}, {file: 1, op: "disable", want: syscall.EINVAL}, {file: 1, task: 1, op: "disable"}}},
		{"exit unbinds", 1, 2, []step{{op: "init", arg: n}, {op: "enable"}, {op: "exit"}, {task: 1, op: "enable"}}},
		{"close by other task", 2, 2, []step{{op: "init", arg: n}, {op: "enable"}, {task: 1, op: "close"}, {file: 1, op: "init", arg: n}, {file: 1, op: "enable"}, {file: 1, op: "disable"}}},
		// O_RDONLY: mmap refuses a writable shared mapping before the
		// device sees it; PROT_READ shared works and the ioctls do too.
		{"read-only file", 1, 1, []step{{op: "reopen-ro"}, {op: "mmap-read", arg: n * 8, want: syscall.EINVAL}, {op: "init", arg: n}, {op: "mmap", arg: n * 8, want: syscall.EACCES}, {op: "mmap-private-read", arg: n * 8, want: syscall.EINVAL}, {op: "mmap-read", arg: n * 8}, {op: "enable"}, {op: "disable"}}},
		{"re-enable after disable", 1, 1, []step{{op: "init", arg: n}, {op: "enable"}, {op: "disable"}, {op: "enable"}}},
	}
	for _, c := range cases {
		run(t, c.name, c.files, c.tasks, c.steps)
	}
}

// A close by another task leaves the traced task bound but silent until
// its next return to user space, which unbinds it; an unbind it already
// did (ENABLE of another file, exit) makes the queued one a no-op that
// never touches its new binding.
func TestCloseByOtherTaskUnbindsOnReturn(t *testing.T) {
	const n = 512
	dev := NewDevice(nil)
	traced, closer := dev.NewTask(), dev.NewTask()
	open := func() *File {
		f := dev.Open()
		if _, err := f.Ioctl(traced, abi.IoctlInitTrace, n); err != nil {
			t.Fatal(err)
		}
		return f
	}

	f := open()
	if _, err := f.Ioctl(traced, abi.IoctlEnable, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(closer); err != nil {
		t.Fatal(err)
	}
	if !traced.Bound() || traced.Tracing() {
		t.Fatalf("after the close: bound %v tracing %v, want bound and silent", traced.Bound(), traced.Tracing())
	}
	traced.ReturnToUser()
	if traced.Bound() {
		t.Fatal("still bound after the return to user space")
	}

	// ENABLE of another file before the return: the queued unbind must
	// leave the new binding alone.
	f = open()
	f.Ioctl(traced, abi.IoctlEnable, 0)
	f.Close(closer)
	g := open()
	if _, err := g.Ioctl(traced, abi.IoctlEnable, 0); err != nil {
		t.Fatalf("ENABLE of a new file: %v", err)
	}
	traced.ReturnToUser()
	if !traced.Tracing() {
		t.Fatal("the queued unbind of the closed file unbound the new one")
	}
	if _, err := g.Ioctl(traced, abi.IoctlDisable, 0); err != nil {
		t.Fatalf("DISABLE of the new file: %v", err)
	}

	// Exit before the return: exit unbinds, the queued unbind finds nothing.
	f = open()
	f.Ioctl(traced, abi.IoctlEnable, 0)
	f.Close(closer)
	traced.Exit()
	if traced.Bound() || len(traced.unbindOnReturn) != 0 {
		t.Fatal("an exited task is still bound or has unbinds queued")
	}
}
