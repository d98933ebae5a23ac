//go:build linux

package conformance

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/rawdev"
	"golang.org/x/sys/unix"
)

// Device is a real kcov dataflow device as a Target. Its tasks are those
// of the helper program (TreeTaskHelper), which fork, start threads and
// exec on command, so the follow cases run. Without the helper they are
// OS threads of this process (goroutines locked to a thread for their
// whole life), and the follow cases skip, saying so.
type Device struct {
	Path string
	// Helper is the helper's path; empty: FindTreeTaskHelper.
	Helper string

	once     sync.Once
	helper   string
	noHelper error
}

// treeHelper returns the helper's path, or why there is none.
func (d *Device) treeHelper() (string, error) {
	d.once.Do(func() {
		d.helper = d.Helper
		if d.helper == "" {
			d.helper, d.noHelper = FindTreeTaskHelper()
		}
	})
	return d.helper, d.noHelper
}

func (d *Device) Name() string { return d.Path }

func (d *Device) ClassicKcov() bool {
	_, err := os.Stat("/sys/kernel/debug/kcov")
	return err == nil
}

func (d *Device) Open() (File, error) {
	fd, err := rawdev.Open(d.Path)
	if err != nil {
		return nil, err
	}
	return &devFile{fd: fd}, nil
}

func (d *Device) OpenReadOnly() (File, error) {
	for {
		fd, err := unix.Open(d.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &devFile{fd: fd}, nil
	}
}

// thread runs functions on one locked OS thread.
type thread struct {
	do   chan func()
	exit chan struct{}
	done chan struct{}
	tid  int
	// noTree says why the target has no TreeTasks.
	noTree string
}

func (t *thread) NotTreeTask() string { return t.noTree }

func (d *Device) NewTask() (Task, error) {
	path, err := d.treeHelper()
	if err == nil {
		return startHelper(path)
	}
	t := &thread{noTree: err.Error(), do: make(chan func()), exit: make(chan struct{}), done: make(chan struct{})}
	started := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		// Never unlocked: when this goroutine returns, its thread exits,
		// which is how a task exits.
		defer close(t.done)
		t.tid = unix.Gettid()
		close(started)
		for {
			select {
			case fn := <-t.do:
				fn()
			case <-t.exit:
				return
			}
		}
	}()
	<-started
	return t, nil
}

func (t *thread) run(fn func()) {
	ran := make(chan struct{})
	select {
	case t.do <- func() { fn(); close(ran) }:
		<-ran
	case <-t.done:
	}
}

// Work reads /proc/version n times: open, read, close, through fs/.
func (t *thread) Work(n int) error {
	var err error
	t.run(func() {
		buf := make([]byte, 256)
		for range n {
			fd, e := unix.Open("/proc/version", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if e != nil {
				err = e
				return
			}
			unix.Read(fd, buf)
			unix.Close(fd)
		}
	})
	return err
}

// ForkWork forks (clone from this very thread) a shell that does some
// work, and waits for it.
func (t *thread) ForkWork() error {
	var err error
	t.run(func() {
		sh, e := exec.LookPath("sh")
		if e != nil {
			err = e
			return
		}
		pid, e := syscall.ForkExec(sh, []string{"sh", "-c", "cat /proc/version /proc/self/stat >/dev/null; ls / >/dev/null"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
		if e != nil {
			err = e
			return
		}
		var ws syscall.WaitStatus
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err == nil && ws.ExitStatus() != 0 {
			err = errors.New("forked child failed")
		}
	})
	return err
}

func (t *thread) ClassicKcov() (int, error) {
	var n int
	var err error
	t.run(func() {
		fd, e := rawdev.Open("/sys/kernel/debug/kcov")
		if e != nil {
			err = e
			return
		}
		defer unix.Close(fd)
		const words = 1 << 16
		if e := rawdev.Ioctl(fd, abi.KcovInitTrace, words); e != nil {
			err = e
			return
		}
		m, e := rawdev.Mmap(fd, 0, words*8, true)
		if e != nil {
			err = e
			return
		}
		defer m.Munmap()
		cover := m.Words
		if e := rawdev.Ioctl(fd, abi.KcovEnable, abi.KcovTracePC); e != nil {
			err = e
			return
		}
		buf := make([]byte, 256)
		for range 3 {
			f, _ := unix.Open("/proc/version", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			unix.Read(f, buf)
			unix.Close(f)
		}
		n = int(cover[0])
		err = rawdev.Ioctl(fd, abi.KcovDisable, 0)
	})
	return n, err
}

func (t *thread) Exit() {
	select {
	case <-t.done:
		return
	default:
	}
	close(t.exit)
	<-t.done
	// The runtime ends the thread after the goroutine returns: wait until
	// the kernel has seen it exit.
	task := fmt.Sprintf("/proc/self/task/%d", t.tid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); err != nil {
			return
		}
	}
}

// devFile keeps its mappings to undo them when closed, so that a run of
// many cases does not pile up mapped buffers.
type devFile struct {
	fd   int
	maps []rawdev.Mapping
}

func (f *devFile) Ioctl(task Task, cmd uint32, arg uint64) (uint64, error) {
	if h, ok := task.(*helperTask); ok {
		return h.ioctl(f.fd, cmd, arg)
	}
	var out uint64
	var err error
	task.(*thread).run(func() {
		if cmd == abi.IoctlGetDropped {
			out, err = rawdev.Dropped(f.fd)
			return
		}
		err = rawdev.Ioctl(f.fd, cmd, uintptr(arg))
	})
	return out, err
}

func (f *devFile) Mmap(off, length uint64, shared bool) ([]uint64, error) {
	m, err := rawdev.Mmap(f.fd, int64(off), int(length), shared)
	if err != nil {
		return nil, err
	}
	f.maps = append(f.maps, m)
	return m.Words, nil
}

func (f *devFile) MmapRead(off, length uint64) ([]uint64, error) {
	m, err := rawdev.MmapRead(f.fd, int64(off), int(length))
	if err != nil {
		return nil, err
	}
	if len(m.Words) == 0 {
		n := len(m.Mem)
		m.Munmap()
		return nil, fmt.Errorf("mmap of %d bytes: shorter than a word", n)
	}
	f.maps = append(f.maps, m)
	return m.Words, nil
}

func (f *devFile) Close(task Task) error {
	var err error
	if h, ok := task.(*helperTask); ok {
		err = h.closeFile(f.fd)
	} else {
		task.(*thread).run(func() { err = unix.Close(f.fd) })
	}
	for i := range f.maps {
		f.maps[i].Munmap()
	}
	f.maps = nil
	return err
}
