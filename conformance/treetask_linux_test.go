//go:build linux

package conformance

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kcovdf/kcovdf/abi"
)

var helperBuild struct {
	once sync.Once
	path string
	err  error
}

// helperBinary compiles the helper as the lab does, once per test binary.
func helperBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc to compile the helper")
	}
	helperBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "treetask-test-")
		if err != nil {
			helperBuild.err = err
			return
		}
		helperBuild.path = filepath.Join(dir, TreeTaskHelper)
		out, err := exec.Command("gcc", "-static", "-O2", "-Wall", "-Werror", "-pthread", "-o", helperBuild.path, "treetask/treetask.c").CombinedOutput()
		if err != nil {
			helperBuild.err = fmt.Errorf("gcc: %v\n%s", err, out)
		}
	})
	if helperBuild.err != nil {
		t.Fatal(helperBuild.err)
	}
	return helperBuild.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if helperBuild.path != "" {
		os.RemoveAll(filepath.Dir(helperBuild.path))
	}
	os.Exit(code)
}

func startTest(t *testing.T) *helperTask {
	t.Helper()
	h, err := startHelper(helperBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Exit)
	return h
}

// procField reads "Name:\tvalue" from /proc/TGID/task/TID/status.
func procField(t *testing.T, tgid, tid int, name string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", tgid, tid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in the status of %d", name, tid)
	return ""
}

func comm(t *testing.T, tgid, tid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/comm", tgid, tid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestTreeTaskForkThreadExec(t *testing.T) {
	root := startTest(t)
	if got := comm(t, root.tgid, root.Tid()); got != TreeTaskHelper {
		t.Fatalf("root comm %q, want %q", got, TreeTaskHelper)
	}
	if err := root.Work(3); err != nil {
		t.Fatal(err)
	}
	if err := root.ForkWork(); err != nil {
		t.Fatalf("a shell forked by the task: %v", err)
	}

	th, err := root.Thread()
	if err != nil {
		t.Fatal(err)
	}
	tt := th.(*helperTask)
	t.Cleanup(tt.Exit)
	if tt.Tid() == root.Tid() || tt.tgid != root.Tid() {
		t.Fatalf("thread: tid %d process %d; want a new tid in process %d", tt.Tid(), tt.tgid, root.Tid())
	}
	if got := procField(t, root.tgid, tt.Tid(), "Tgid"); got != strconv.Itoa(root.Tid()) {
		t.Fatalf("the kernel puts thread %d in process %s, want %d", tt.Tid(), got, root.Tid())
	}

	// A fork by the thread: a process whose parent is the root's process.
	ch, err := tt.Fork()
	if err != nil {
		t.Fatal(err)
	}
	c := ch.(*helperTask)
	t.Cleanup(c.Exit)
	if got := procField(t, c.Tid(), c.Tid(), "PPid"); got != strconv.Itoa(root.Tid()) {
		t.Fatalf("forked child %d: parent %s, want %d", c.Tid(), got, root.Tid())
	}
	if got := procField(t, c.Tid(), c.Tid(), "Threads"); got != "1" {
		t.Fatalf("forked child of a two-thread process has %s threads, want 1", got)
	}
	if err := c.Exec("cat"); err != nil {
		t.Fatal(err)
	}
	if got := comm(t, c.Tid(), c.Tid()); got != "cat" {
		t.Fatalf("comm after exec %q, want \"cat\"", got)
	}
	if err := c.Work(2); err != nil {
		t.Fatalf("work after the exec: %v", err)
	}
	// The exec'd program holds no descriptor but its pipes and stdio.
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.Tid()))
	if err != nil {
		t.Fatal(err)
	}
	if len(fds) != 5 {
		t.Fatalf("after fork and exec the child has %d descriptors, want 5 (stdio and its pipes)", len(fds))
	}
	// And the exec left no symlink behind.
	if err := c.Exec("worker"); err != nil {
		t.Fatal(err)
	}
	if got := comm(t, c.Tid(), c.Tid()); got != "worker" {
		t.Fatalf("comm after the second exec %q, want \"worker\"", got)
	}

	c.Exit()
	if !taskGone(c.Tid(), c.Tid()) {
		t.Fatalf("child %d still runs after Exit", c.Tid())
	}
	// Its parent reaps it at its next command.
	if err := tt.Work(1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", c.Tid())); err == nil {
		t.Fatalf("the exited child %d was not reaped", c.Tid())
	}
	if err := c.Work(1); err == nil {
		t.Fatal("work of an exited task succeeded")
	}
	// A thread's exit leaves its process running.
	tt.Exit()
	if !taskGone(root.tgid, tt.Tid()) {
		t.Fatalf("thread %d still runs after Exit", tt.Tid())
	}
	if err := root.Work(1); err != nil {
		t.Fatalf("the root after its thread exited: %v", err)
	}
}

// A thread that execs takes over its process's id and ends the others.
func TestTreeTaskThreadExec(t *testing.T) {
	root := startTest(t)
	th, err := root.Thread()
	if err != nil {
		t.Fatal(err)
	}
	tt := th.(*helperTask)
	t.Cleanup(tt.Exit)
	joined := tt.Tid()
	if err := tt.Exec("worker"); err != nil {
		t.Fatal(err)
	}
	if tt.now != root.tgid || tt.Tid() != joined {
		t.Fatalf("after the exec: tid now %d, joined %d; want now %d (the process's), joined %d", tt.now, tt.Tid(), root.tgid, joined)
	}
	if got := comm(t, tt.tgid, tt.now); got != "worker" {
		t.Fatalf("comm %q, want \"worker\"", got)
	}
	if err := root.Work(1); err == nil {
		t.Fatal("the process's first thread still answers after another thread exec'd")
	}
	if err := tt.Work(1); err != nil {
		t.Fatal(err)
	}
}

// A child outlives its parent and stays driven.
func TestTreeTaskOrphan(t *testing.T) {
	root := startTest(t)
	ch, err := root.Fork()
	if err != nil {
		t.Fatal(err)
	}
	c := ch.(*helperTask)
	t.Cleanup(c.Exit)
	root.Exit()
	if !taskGone(root.tgid, root.Tid()) {
		t.Fatal("the root still runs after Exit")
	}
	if err := c.Work(2); err != nil {
		t.Fatalf("the orphan: %v", err)
	}
}

// The ioctls and the close act on the caller's open file description.
func TestTreeTaskFileDescription(t *testing.T) {
	h := startTest(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	unix.Write(p[1], []byte("hello"))
	if n, err := h.call("ioctlp %d %d %d", os.Getpid(), p[0], unix.TIOCINQ); err != nil || n != 5 {
		t.Fatalf("FIONREAD through the task: %d %v, want 5", n, err)
	}
	if _, err := h.ioctl(p[0], abi.IoctlEnableFollow, 0); !errors.Is(err, syscall.ENOTTY) {
		t.Fatalf("ENABLE_FOLLOW on a pipe: %v, want ENOTTY", err)
	}
	// The task closes the last descriptor of the write end: the reader
	// sees the end of the file.
	if err := h.closeFile(p[1]); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, _ := unix.Read(p[0], buf); n != 5 {
		t.Fatalf("read %d bytes, want 5", n)
	}
	if n, err := unix.Read(p[0], buf); n != 0 || err != nil {
		t.Fatalf("read after the task's close: %d %v, want the end of the file", n, err)
	}
	if _, err := h.call("frobnicate"); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("unknown command: %v, want EINVAL", err)
	}
	if _, err := h.call("exec a/b"); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("exec of a name with a slash: %v, want EINVAL", err)
	}
}

// Without the helper the Device's tasks are threads, and the follow cases
// say why they skip.
func TestDeviceWithoutHelper(t *testing.T) {
	d := &Device{Path: "/nonexistent"}
	d.once.Do(func() { d.noHelper = errors.New("no helper here") })
	task, err := d.NewTask()
	if err != nil {
		t.Fatal(err)
	}
	// Ended without waiting for the thread to go: the runtime may keep it.
	defer close(task.(*thread).exit)
	_, err = treeTask(task)
	var s skipError
	if !errors.As(err, &s) || !strings.HasSuffix(s.why, ": no helper here") {
		t.Fatalf("treeTask of a thread: %v", err)
	}
}

func TestParseReply(t *testing.T) {
	for _, c := range []struct {
		in    string
		value uint64
		err   error
	}{
		{"0 42", 42, nil},
		{"25 0", 0, syscall.ENOTTY},
		{"0 18446744073709551615", 1<<64 - 1, nil},
	} {
		v, err := parseReply(c.in)
		if v != c.value || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("parseReply(%q) = %d, %v; want %d, %v", c.in, v, err, c.value, c.err)
		}
	}
	for _, bad := range []string{"", "0", "x 1", "0 -1", "0  1"} {
		if _, err := parseReply(bad); err == nil || errors.Is(err, syscall.Errno(0)) {
			t.Errorf("parseReply(%q): %v, want a format error", bad, err)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"0 42", "22 0", "", "0 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseReply(s)
		var errno syscall.Errno
		if err == nil || errors.As(err, &errno) {
			if got := fmt.Sprintf("%d %d", int(errno), v); got != s {
				t.Fatalf("parseReply(%q) accepted %q", s, got)
			}
		}
	})
}
