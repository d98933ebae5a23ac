package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/lab"
)

// threadMixes are the system calls of kcovdf-threads' four threads
// (e2e/threads/threads.c), each by an entry function that only its thread
// calls.
var threadMixes = []struct{ thread, fn string }{
	{"getpid", "__x64_sys_getpid"},
	{"open", "do_sys_openat2"},
	{"read", "ksys_read"},
	{"stat", "__x64_sys_newuname"},
}

// TestFollowThreadsE2E traces kcovdf-threads in follow mode in the lab
// kernel: the process and its four threads must be five exact streams,
// each thread's holding its own system calls' entry functions and none of
// another's.
//
//	KCOVDF_E2E=1 go test -run TestFollowThreadsE2E -v ./e2e
func TestFollowThreadsE2E(t *testing.T) {
	needEnv(t, "KCOVDF_E2E", "boot the lab kernel and trace a process of four threads in follow mode")
	followThreads(t, lab.KernelOptions{})
}

// TestFollowThreadsE2EKASAN: the same on the KASAN + lockdep kernel.
func TestFollowThreadsE2EKASAN(t *testing.T) {
	needEnv(t, "KCOVDF_E2E_KASAN", "boot the KASAN lab kernel and trace a process of four threads in follow mode")
	followThreads(t, lab.KernelOptions{KASAN: true})
}

func followThreads(t *testing.T, opts lab.KernelOptions) {
	const script = `set -e
kcovdf record --follow -o threads.kdf -- kcovdf-threads 200
`
	dir, k, _ := runGuest(t, opts, script)
	checkThreadsTrace(t, filepath.Join(dir, "threads.kdf"), k)
}

func checkThreadsTrace(t *testing.T, path string, k *lab.Kernel) {
	_, ft, _, names := decodeFollowTrace(t, path, k)
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	for _, m := range threadMixes {
		if !known[m.fn] {
			t.Fatalf("no layout record for %s: not instrumented in this kernel", m.fn)
		}
	}
	if len(ft.Anomalies) != 0 || ft.Dropped != 0 {
		t.Fatalf("%d anomalies (%v), %d dropped: want an exact trace", len(ft.Anomalies), ft.Anomalies, ft.Dropped)
	}
	var proc *abi.TaskStream
	for _, ts := range ft.Tasks {
		if ts.Root && ts.Comm == "kcovdf-threads" {
			proc = ts
		}
	}
	if proc == nil {
		t.Fatalf("no root stream named kcovdf-threads among %s", describeTasks(ft))
	}
	// entries counts each stream's calls of the mixes' functions.
	entries := func(ts *abi.TaskStream, afterExec bool) map[string]int {
		n := map[string]int{}
		from := 0
		if afterExec {
			from = execOffset(ts)
		}
		for _, r := range ts.Records {
			if r.Offset >= from && r.Kind == abi.KindEntry && r.ArgIdx == 0 {
				n[names[r.PC]]++
			}
		}
		return n
	}
	var threads []*abi.TaskStream
	for _, ts := range ft.Tasks {
		if ts != proc {
			threads = append(threads, ts)
		}
	}
	if len(threads) != 4 {
		t.Fatalf("%d streams besides the process's, want its 4 threads: %s", len(threads), describeTasks(ft))
	}
	owner := map[string]*abi.TaskStream{}
	for _, th := range threads {
		if th.Tgid != proc.Tid || th.Ptid != proc.Tid || !th.Exited {
			t.Errorf("thread %d: process %d, parent %d, exited %v; want a thread of %d that exited", th.Tid, th.Tgid, th.Ptid, th.Exited, proc.Tid)
		}
		n := entries(th, false)
		var own []string
		for _, m := range threadMixes {
			if n[m.fn] > 0 {
				own = append(own, m.fn)
				owner[m.fn] = th
			}
		}
		if len(own) != 1 {
			t.Errorf("thread %d (%s) calls %v: want exactly one mix's entry function", th.Tid, th.Comm, own)
		}
		t.Logf("thread %d (%s): %d records in %d chunks, %v", th.Tid, th.Comm, len(th.Records), len(th.Chunks), n)
	}
	for _, m := range threadMixes {
		th := owner[m.fn]
		if th == nil {
			t.Errorf("no thread calls %s (the %s thread)", m.fn, m.thread)
			continue
		}
		if n := entries(th, false)[m.fn]; n < 200 {
			t.Errorf("the %s thread calls %s %d times, want its 200 rounds", m.thread, m.fn, n)
		}
	}
	// The process itself, once it is kcovdf-threads, only opens
	// /dev/zero for the read thread.
	n := entries(proc, true)
	if n["do_sys_openat2"] != 1 || n["__x64_sys_getpid"]+n["ksys_read"]+n["__x64_sys_newuname"] != 0 {
		t.Errorf("the main thread after its exec: %v; want one do_sys_openat2 (of /dev/zero) and none of the threads' calls", n)
	}
}

// execOffset is the area offset of ts's first chunk after its last exec
// (0: it never exec'd).
func execOffset(ts *abi.TaskStream) int {
	off := 0
	for _, c := range ts.Chunks {
		if c.Flags&abi.ChunkExec != 0 {
			off = c.Offset
		}
	}
	return off
}

func describeTasks(ft *abi.FollowTrace) string {
	var b strings.Builder
	for _, ts := range ft.Tasks {
		fmt.Fprintf(&b, "[tid %d process %d parent %d %s, %d records] ", ts.Tid, ts.Tgid, ts.Ptid, ts.Comm, len(ts.Records))
	}
	return b.String()
}
