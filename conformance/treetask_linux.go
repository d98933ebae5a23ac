//go:build linux

package conformance

import (
	"errors"
	"fmt"
	"net"
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
// socket.
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

// helperTask is a task of a helper process, driven over a SOCK_SEQPACKET
// socket: one message per command, one reply "ERRNO VALUE" per message.
type helperTask struct {
	mu   sync.Mutex
	conn *net.UnixConn
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
	ours, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	cmd := exec.Command(path, "3")
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, fmt.Errorf("start %s: %v", path, err)
	}
	// Reaped whenever it ends; a zombie already counts as exited.
	go cmd.Wait()
	return &helperTask{conn: ours, tid: cmd.Process.Pid, now: cmd.Process.Pid, tgid: cmd.Process.Pid}, nil
}

// socketPair returns both ends of a new SOCK_SEQPACKET pair: ours as a
// connection, theirs as the file to hand over.
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %v", err)
	}
	f := os.NewFile(uintptr(fds[0]), "treetask")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "treetask"), nil
}

// call sends one command, with fd (-1: none) as SCM_RIGHTS, runs sent
// once the message is on its way (the descriptor then travels with it),
// and returns the reply's value, or its errno as a syscall.Errno.
func (h *helperTask) call(fd int, sent func(), format string, args ...any) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmd := fmt.Sprintf(format, args...)
	if h.exited {
		return 0, fmt.Errorf("task %d: %q after it exited", h.tid, cmd)
	}
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	h.conn.SetDeadline(time.Now().Add(helperTimeout))
	if _, _, err := h.conn.WriteMsgUnix([]byte(cmd), oob, nil); err != nil {
		return 0, fmt.Errorf("task %d: send %q: %v", h.tid, cmd, err)
	}
	if sent != nil {
		sent()
	}
	buf := make([]byte, 64)
	n, _, _, _, err := h.conn.ReadMsgUnix(buf, nil)
	if err == nil && n == 0 {
		err = errors.New("the task is gone")
	}
	if err != nil {
		return 0, fmt.Errorf("task %d: reply to %q: %v", h.tid, cmd, err)
	}
	return parseReply(string(buf[:n]))
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
	_, err := h.call(-1, nil, "work %d", n)
	return err
}

func (h *helperTask) ForkWork() error {
	_, err := h.call(-1, nil, "forkwork")
	return err
}

func (h *helperTask) ClassicKcov() (int, error) {
	n, err := h.call(-1, nil, "kcov")
	return int(n), err
}

// spawn has the task clone a process (fork) or a thread, driven over a
// new socket it receives.
func (h *helperTask) spawn(verb string) (*helperTask, error) {
	ours, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	// Once sent, the socket travels in the message: our copy can go.
	tid, err := h.call(int(theirs.Fd()), func() { theirs.Close() }, "%s", verb)
	theirs.Close()
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	c := &helperTask{conn: ours, tid: int(tid), now: int(tid), tgid: int(tid)}
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
	tid, err := h.call(-1, nil, "exec %s", comm)
	if err == nil {
		h.mu.Lock()
		h.now = int(tid)
		h.mu.Unlock()
	}
	return err
}

// ioctl performs cmd on the open file description of fd from this task;
// GET_DROPPED writes its count through a pointer.
func (h *helperTask) ioctl(fd int, cmd uint32, arg uint64) (uint64, error) {
	if cmd == abi.IoctlGetDropped {
		return h.call(fd, nil, "ioctlp %d", cmd)
	}
	_, err := h.call(fd, nil, "ioctl %d %d", cmd, arg)
	return 0, err
}

// closeFile closes fd from this task: the task gets the description, our
// own descriptor is closed while the message travels, and the task's close
// then drops the last descriptor (a mapping may still hold the file).
func (h *helperTask) closeFile(fd int) error {
	closed := false
	_, err := h.call(fd, func() { closed = true; unix.Close(fd) }, "close")
	if !closed {
		return unix.Close(fd)
	}
	return err
}

// Exit ends the task and returns once the kernel has seen it exit.
func (h *helperTask) Exit() {
	h.call(-1, nil, "exit")
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.exited {
		return
	}
	h.exited = true
	h.conn.Close()
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
