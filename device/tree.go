//go:build linux

package device

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Waiting for a whole process tree, as follow mode traces one: this
// process is a child subreaper meanwhile, so every process of the tree
// is its descendant until it is waited for, whoever its parent was.

// setSubreaper makes this process a child subreaper, or stops it being
// one: orphans among its descendants are then re-parented to it instead
// of init.
func setSubreaper(on bool) error {
	v := 0
	if on {
		v = 1
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, uintptr(v), 0, 0, 0); err != nil {
		return fmt.Errorf("record: prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}

// treeResult is what waitTree found.
type treeResult struct {
	exitCode  int   // the command's, as exec.ExitError.ExitCode gives it
	processes int   // processes waited for: the command and the orphans of its tree
	killed    []int // processes killed after ctx was cancelled
	err       error
}

// waitTree waits for cmd (started) and for every other child this process
// has or gets, until none is left. Once the command exited, it tells
// notes which of its descendants still run. When ctx is cancelled, it
// kills every descendant, again and again as orphans are re-parented,
// until they are all gone.
func waitTree(ctx context.Context, cmd *exec.Cmd, notes io.Writer) treeResult {
	root := cmd.Process.Pid
	done := make(chan struct{})
	var mu sync.Mutex
	var killed []int
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		for {
			for _, pid := range descendants(os.Getpid()) {
				if unix.Kill(pid, unix.SIGKILL) == nil {
					mu.Lock()
					if !slices.Contains(killed, pid) {
						killed = append(killed, pid)
					}
					mu.Unlock()
				}
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	res := treeResult{exitCode: -1}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD {
			break
		}
		if err != nil {
			res.err = fmt.Errorf("wait4: %w", err)
			break
		}
		res.processes++
		if pid != root {
			continue
		}
		res.exitCode = -1
		if ws.Exited() {
			res.exitCode = ws.ExitStatus()
		}
		if rest := descendants(os.Getpid()); len(rest) > 0 && notes != nil && ctx.Err() == nil {
			fmt.Fprintf(notes, "record: %s exited (status %d); waiting for the %s of its tree still running: %s (interrupt to kill them and keep the trace)\n",
				cmd.Args[0], res.exitCode, plural(len(rest), "process", "processes"), describePids(rest))
		}
	}
	close(done)
	// The command's own streams: exec copies them in goroutines, which
	// Wait waits for. The process itself is waited for already, so its
	// error (ECHILD) says nothing.
	cmd.Wait()
	mu.Lock()
	res.killed = slices.Clone(killed)
	mu.Unlock()
	slices.Sort(res.killed)
	return res
}

// descendants lists the processes below pid, from /proc: the children
// of pid, theirs, and so on. Zombies, which only wait to be waited for,
// are left out (their children are not).
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	zombie := map[int]bool{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, state, ok := procParent(p)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], p)
		zombie[p] = state == 'Z'
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if !zombie[c] {
				out = append(out, c)
			}
			queue = append(queue, c)
		}
	}
	slices.Sort(out)
	return out
}

// procParent reads a process's parent and state from /proc/PID/stat:
// "PID (COMM) STATE PPID ...", where COMM may hold spaces and parentheses.
func procParent(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	fs := strings.Fields(s[i+1:])
	if len(fs) < 2 || len(fs[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(fs[1])
	return ppid, fs[0][0], err == nil
}

// describePids names up to 8 processes: "12 (sleep), 14 (sh)".
func describePids(pids []int) string {
	var parts []string
	for i, p := range pids {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("and %d more", len(pids)-i))
			break
		}
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
		if err != nil {
			parts = append(parts, strconv.Itoa(p))
			continue
		}
		parts = append(parts, fmt.Sprintf("%d (%s)", p, strings.TrimSpace(string(comm))))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
