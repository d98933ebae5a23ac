//go:build linux

package conformance

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"golang.org/x/sys/unix"
)

// TreeTaskHelper is the name of the program that a Device's tasks run
// (conformance/treetask/treetask.c; the lab installs it in the guest). A
// thread or process joins a followed tree only when a task of the tree
// clones it, so the task itself must fork and start threads on command,
// which a goroutine cannot: the helper is a C program driven over a
// pair of pipes.
const TreeTaskHelper = "kcovdf-treetask"

// helperTimeout bounds one command: a helper that does not answer in it
// is stuck, and the case fails instead of hanging.
const helperTimeout = 3 * time.Minute

// FindTreeTaskHelper returns the helper's path: $KCOVDF_TREETASK, else
// kcovdf-treetask on PATH, else beside the running executable.
func FindTreeTaskHelper() (string, error) {
	if p := os.Getenv("KCOVDF_TREETASK"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath(TreeTaskHelper); err == nil {
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), TreeTaskHelper)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no %s on PATH or beside this program (set KCOVDF_TREETASK to its path; build it with gcc -static -O2 -pthread from conformance/treetask/treetask.c)", TreeTaskHelper)
}

// helperTask is a task of a helper process, driven over two pipes: one
// command line, one reply line "ERRNO VALUE". The lab kernel has no
// AF_UNIX, so descriptors do not travel in messages: the task takes them
// from this process with pidfd_getfd.
type helperTask struct {
	mu      sync.Mutex
	cmd     *os.File // commands, ours to write
	replies *os.File // replies, ours to read
	in      *bufio.Reader
	// tid is the id the task had when it was created: a thread that
	// execs takes over its process's id, but the follow mode keeps
	// attributing its records to the tid it joined with. now is its id
	// at present, tgid its process.
	tid, now, tgid int
	exited         bool
}

// StartTreeTask starts the helper at path as a new process and returns
// its task.
func StartTreeTask(path string) (TreeTask, error) { return startHelper(path) }

func startHelper(path string) (*helperTask, error) {
	p, err := newPipes()
	if err != nil {
		return nil, err
	}
	defer p.closeTheirs()
	cmd := exec.Command(path, "3", "4")
	cmd.ExtraFiles = []*os.File{p.theirCmd, p.theirReplies}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		p.task.close()
		return nil, fmt.Errorf("start %s: %v", path, err)
	}
	// Reaped whenever it ends; a zombie already counts as exited.
	go cmd.Wait()
	t := p.task
	t.tid, t.now, t.tgid = cmd.Process.Pid, cmd.Process.Pid, cmd.Process.Pid
	return t, nil
}

// pipes are a new task's two pipes: its ends, for the helper to take, and
// ours, in the task.
type pipes struct {
	task                   *helperTask
	theirCmd, theirReplies *os.File
}

func newPipes() (*pipes, error) {
	cr, cw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	rr, rw, err := os.Pipe()
	if err != nil {
		cr.Close()
		cw.Close()
		return nil, err
	}
	// Fd puts their ends in blocking mode, which the helper expects: the
	// mode belongs to the open file description it shares.
	cr.Fd()
	rw.Fd()
	return &pipes{task: &helperTask{cmd: cw, replies: rr, in: bufio.NewReader(rr)}, theirCmd: cr, theirReplies: rw}, nil
}

func (p *pipes) closeTheirs() {
	p.theirCmd.Close()
	p.theirReplies.Close()
}

func (h *helperTask) close() {
	h.cmd.Close()
	h.replies.Close()
}

// call sends one command and returns the reply's value, or its errno as a
// syscall.Errno.
func (h *helperTask) call(format string, args ...any) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmd := fmt.Sprintf(format, args...)
	if h.exited {
		return 0, fmt.Errorf("task %d: %q after it exited", h.tid, cmd)
	}
	deadline := time.Now().Add(helperTimeout)
	h.cmd.SetWriteDeadline(deadline)
	h.replies.SetReadDeadline(deadline)
	if _, err := h.cmd.WriteString(cmd + "\n"); err != nil {
		return 0, fmt.Errorf("task %d: send %q: %v", h.tid, cmd, err)
	}
	line, err := h.in.ReadString('\n')
	if err != nil {
		if err == io.EOF {
			err = errors.New("the task is gone")
		}
		return 0, fmt.Errorf("task %d: reply to %q: %v", h.tid, cmd, err)
	}
	return parseReply(strings.TrimSuffix(line, "\n"))
}

// parseReply reads "ERRNO VALUE".
func parseReply(s string) (uint64, error) {
	e, v, ok := strings.Cut(s, " ")
	errno, err1 := strconv.Atoi(e)
	value, err2 := strconv.ParseUint(v, 10, 64)
	// The helper writes both in decimal, nothing else.
	if !ok || err1 != nil || err2 != nil || errno < 0 || fmt.Sprintf("%d %d", errno, value) != s {
		return 0, fmt.Errorf("reply %q is not \"ERRNO VALUE\"", s)
	}
	if errno != 0 {
		return value, syscall.Errno(errno)
	}
	return value, nil
}

func (h *helperTask) Tid() int { return h.tid }

func (h *helperTask) Work(n int) error {
	_, err := h.call("work %d", n)
	return err
}

func (h *helperTask) ForkWork() error {
	_, err := h.call("forkwork")
	return err
}

func (h *helperTask) ClassicKcov() (int, error) {
	n, err := h.call("kcov")
	return int(n), err
}

// spawn has the task clone a process (fork) or a thread, driven over new
// pipes it takes from us.
func (h *helperTask) spawn(verb string) (*helperTask, error) {
	p, err := newPipes()
	if err != nil {
		return nil, err
	}
	defer p.closeTheirs()
	tid, err := h.call("%s %d %d %d", verb, os.Getpid(), p.theirCmd.Fd(), p.theirReplies.Fd())
	if err != nil {
		p.task.close()
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	c := p.task
	c.tid, c.now, c.tgid = int(tid), int(tid), int(tid)
	if verb == "thread" {
		c.tgid = h.tgid
	}
	return c, nil
}

func (h *helperTask) Fork() (TreeTask, error)   { return h.spawn("fork") }
func (h *helperTask) Thread() (TreeTask, error) { return h.spawn("thread") }

// Exec runs the helper again under the name comm; the new program answers
// with its tid.
func (h *helperTask) Exec(comm string) error {
	tid, err := h.call("exec %s", comm)
	if err == nil {
		h.mu.Lock()
		h.now = int(tid)
		h.mu.Unlock()
	}
	return err
}

// ioctl performs cmd on the open file description of our fd from this
// task; GET_DROPPED writes its count through a pointer.
func (h *helperTask) ioctl(fd int, cmd uint32, arg uint64) (uint64, error) {
	if cmd == abi.IoctlGetDropped {
		return h.call("ioctlp %d %d %d", os.Getpid(), fd, cmd)
	}
	_, err := h.call("ioctl %d %d %d %d", os.Getpid(), fd, cmd, arg)
	return 0, err
}

// closeFile closes fd from this task: the task takes the description, we
// close our descriptor, and the task's close then drops the last one (a
// mapping may still hold the file).
func (h *helperTask) closeFile(fd int) error {
	local, err := h.call("take %d %d", os.Getpid(), fd)
	cerr := unix.Close(fd)
	if err != nil {
		// The task never took the file: our close was not the one to test.
		return errors.Join(err, cerr)
	}
	_, err = h.call("close %d", local)
	return err
}

// Exit ends the task and returns once the kernel has seen it exit.
func (h *helperTask) Exit() {
	h.call("exit")
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.exited {
		return
	}
	h.exited = true
	h.close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if taskGone(h.tgid, h.now) {
			break
		}
	}
}

// taskGone tells whether task tid of process tgid has exited: gone from
// /proc, or a zombie (past the exit of its kcov state).
func taskGone(tgid, tid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", tgid, tid))
	if err != nil {
		return true
	}
	// The state follows the command, which is in parentheses and may
	// hold anything.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	switch stat[i+2] {
	case 'Z', 'X', 'x':
		return true
	}
	return false
}
