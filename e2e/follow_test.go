package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/lab"
)

// TestFollowPipelineE2E traces a shell pipeline in follow mode in the lab
// kernel and checks each of its three processes' streams with the
// decoder: sh -c 'cat /etc/passwd | wc -l'. Every stream must be exact
// and gap-free, end with the task's exit, be named by its program and
// flagged where it exec'd; cat's must hold the write into the pipe and
// wc's the read from it, each moving the file's bytes, and wc must have
// counted the file's lines.
//
//	KCOVDF_E2E=1 go test -run TestFollowPipelineE2E -v ./e2e
func TestFollowPipelineE2E(t *testing.T) {
	needEnv(t, "KCOVDF_E2E", "boot the lab kernel and trace a pipeline in follow mode")
	followPipeline(t, lab.KernelOptions{})
}

// TestFollowPipelineE2EKASAN: the same on the KASAN + lockdep kernel, which
// must report nothing about the fork, exec and exit hooks.
func TestFollowPipelineE2EKASAN(t *testing.T) {
	needEnv(t, "KCOVDF_E2E_KASAN", "boot the KASAN lab kernel and trace a pipeline in follow mode")
	followPipeline(t, lab.KernelOptions{KASAN: true})
}

func followPipeline(t *testing.T, opts lab.KernelOptions) {
	const script = `set -e
cp /etc/passwd passwd.txt
kcovdf record --follow -o pipe.kdf -- sh -c 'cat /etc/passwd | wc -l' > wc.out
`
	dir, k, _ := runGuest(t, opts, script)
	passwd, err := os.ReadFile(filepath.Join(dir, "passwd.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(filepath.Join(dir, "wc.out"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), strconv.Itoa(bytes.Count(passwd, []byte("\n"))); got != want {
		t.Errorf("wc -l printed %q, want %s: the lines of the guest's /etc/passwd", got, want)
	}
	checkPipelineTrace(t, filepath.Join(dir, "pipe.kdf"), k, len(passwd))
}

// checkPipelineTrace decodes the follow-mode trace of the pipeline with
// the vmlinux's own layout records and checks its streams; size is the
// bytes of /etc/passwd.
func checkPipelineTrace(t *testing.T, path string, k *lab.Kernel, size int) {
	tr, ft, words, names := decodeFollowTrace(t, path, k)
	var summary strings.Builder
	ft.WriteText(&discardRecords{&summary})
	t.Logf("follow trace: %s", summary.String())
	if len(ft.Anomalies) != 0 {
		t.Errorf("%d anomalies, want none: %v", len(ft.Anomalies), ft.Anomalies)
	}
	if tr.Meta.Dropped == nil || *tr.Meta.Dropped != 0 || ft.Dropped != 0 {
		t.Errorf("records dropped: kernel %v, chunks %d", tr.Meta.Dropped, ft.Dropped)
	}
	if ft.Carved == 0 || tr.Meta.Fill != uint64(ft.Carved*ft.ChunkWords) {
		t.Errorf("area[0] = %d for %d chunks of %d words", tr.Meta.Fill, ft.Carved, ft.ChunkWords)
	}
	byName := map[string][]*abi.TaskStream{}
	for _, ts := range ft.Tasks {
		checkStream(t, words, ts, ft.ChunkWords)
		byName[ts.Comm] = append(byName[ts.Comm], ts)
	}
	if len(ft.Tasks) != 3 || len(byName["sh"]) != 1 || len(byName["cat"]) != 1 || len(byName["wc"]) != 1 {
		t.Fatalf("tasks %v, want one sh, one cat, one wc", tasksOf(ft))
	}
	sh, cat, wc := byName["sh"][0], byName["cat"][0], byName["wc"][0]
	if !sh.Root || sh.Ptid == 0 || cat.Ptid != sh.Tid || wc.Ptid != sh.Tid || cat.Tgid != cat.Tid || wc.Tgid != wc.Tid {
		t.Errorf("process tree %v: want sh the root, cat and wc processes of its own", tasksOf(ft))
	}
	// The root enabled the mode in kcovdf and exec'd sh; sh's children
	// exec'd busybox again, which names itself after the applet.
	checkExec(t, sh, "kcovdf", "sh")
	checkExec(t, cat, "sh", "cat")
	checkExec(t, wc, "sh", "wc")

	calls := func(ts *abi.TaskStream, fn string) (entries int, returned []int64) {
		for _, r := range ts.Records {
			if names[r.PC] != fn {
				continue
			}
			switch {
			case r.Kind == abi.KindEntry && r.ArgIdx == 0:
				entries++
			case r.Kind == abi.KindReturn && len(r.Values) == 1:
				returned = append(returned, int64(r.Values[0]))
			}
		}
		return entries, returned
	}
	sum := func(vs []int64) (n int64) {
		for _, v := range vs {
			n += max(v, 0)
		}
		return n
	}
	// busybox cat copies with sendfile, which fills a pipe through
	// splice_file_to_pipe; a write(2) would go through pipe_write.
	_, wrote := calls(cat, "pipe_write")
	_, spliced := calls(cat, "splice_file_to_pipe")
	if got := sum(wrote) + sum(spliced); got != int64(size) {
		t.Errorf("cat moved %d bytes into the pipe (pipe_write %v, splice_file_to_pipe %v), want the %d of /etc/passwd", got, wrote, spliced, size)
	}
	t.Logf("cat: pipe_write returned %v, splice_file_to_pipe %v", wrote, spliced)
	reads, read := calls(wc, "pipe_read")
	t.Logf("wc: pipe_read returned %v", read)
	if reads == 0 || sum(read) != int64(size) {
		t.Errorf("wc: %d pipe_read calls returning %v, want %d bytes in all", reads, read, size)
	}
	if n, _ := calls(sh, "pipe_read"); n != 0 {
		t.Errorf("sh read the pipe %d times: the streams are mixed", n)
	}
	if n, _ := calls(sh, "do_pipe2"); n == 0 {
		t.Logf("no do_pipe2 in sh's stream (inlined, or the pipe is made another way)")
	}
}

// checkStream: a stream's records carry the sequence numbers 1, 2, 3, ...
// and its chunks the ordinals 0, 1, 2, ..., and the task exited.
func checkStream(t *testing.T, area []uint64, ts *abi.TaskStream, c int) {
	t.Helper()
	for i, r := range ts.Records {
		if r.Seq != uint32(i+1)&abi.SeqMask {
			t.Errorf("task %d (%s): record %d has sequence %d", ts.Tid, ts.Comm, i, r.Seq)
			break
		}
	}
	for i, ch := range ts.Chunks {
		if ch.Ordinal != uint32(i) || ch.Tid != ts.Tid {
			t.Errorf("task %d (%s): chunk %d has ordinal %d, tid %d", ts.Tid, ts.Comm, i, ch.Ordinal, ch.Tid)
		}
		// The records fill the chunk's count, no word left over.
		used := 0
		for _, r := range ts.Records {
			if r.Offset >= ch.Offset && r.Offset < ch.Offset+c {
				used += r.Words()
			}
		}
		if uint64(used) != ch.Used {
			t.Errorf("task %d (%s): chunk %d counts %d words, its records %d", ts.Tid, ts.Comm, ch.Slot, ch.Used, used)
		}
	}
	if len(ts.Records) == 0 || !ts.Exited {
		t.Errorf("task %d (%s): %d records, exited %v", ts.Tid, ts.Comm, len(ts.Records), ts.Exited)
	}
}

// checkExec: the task's first chunk is named from, one chunk is flagged
// exec, and from the first chunk named to on, every chunk is. Between
// the exec and that one a busybox applet is "exe": busybox runs applets
// by exec'ing /proc/self/exe, and names itself after the applet only
// once it runs. No chunk before the exec chunk has the new name: the
// kernel records nothing while execve renames the task.
func checkExec(t *testing.T, ts *abi.TaskStream, from, to string) {
	t.Helper()
	if ts.Chunks[0].Comm != from || ts.Chunks[0].Flags&abi.ChunkFirst == 0 || ts.Chunks[0].Flags&abi.ChunkExec != 0 {
		t.Errorf("task %d: first chunk %q [%s], want %q [first]", ts.Tid, ts.Chunks[0].Comm, ts.Chunks[0].Flags, from)
	}
	execs, named := 0, false
	for _, ch := range ts.Chunks {
		if ch.Flags&abi.ChunkExec != 0 {
			execs++
		}
		named = named || execs > 0 && ch.Comm == to
		if execs == 0 && ch.Comm != from || execs > 0 && !named && ch.Comm != "exe" || named && ch.Comm != to {
			t.Errorf("task %d: chunk %d is named %q (%d execs before it), want %q before the exec, then %q", ts.Tid, ch.Slot, ch.Comm, execs, from, to)
		}
	}
	if execs != 1 || !named {
		t.Errorf("task %d: %d chunks flagged exec, named %q after: want 1, %q", ts.Tid, execs, ts.Comm, to)
	}
}

func tasksOf(ft *abi.FollowTrace) string {
	var s []string
	for _, ts := range ft.Tasks {
		var names []string
		for _, c := range ts.Chunks {
			if len(names) == 0 || names[len(names)-1] != c.Comm {
				names = append(names, c.Comm)
			}
		}
		s = append(s, fmt.Sprintf("%d %s (process %d, parent %d, root %v, exited %v)", ts.Tid, strings.Join(names, "→"), ts.Tgid, ts.Ptid, ts.Root, ts.Exited))
	}
	return strings.Join(s, "; ")
}

// discardRecords keeps FollowTrace.WriteText's task lines and drops its
// chunk and record lines, for the test log.
type discardRecords struct{ b *strings.Builder }

func (d *discardRecords) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if !strings.HasPrefix(line, "  ") {
			d.b.WriteString(line)
		}
	}
	return len(p), nil
}

// decodeFollowTrace loads a follow-mode trace and decodes its streams with
// the vmlinux's own layout records. It returns the trace, its streams, the
// whole area they alias and the functions' names by pc.
func decodeFollowTrace(t *testing.T, path string, k *lab.Kernel) (*abi.Trace, *abi.FollowTrace, []uint64, map[uint64]string) {
	t.Helper()
	tr, err := abi.LoadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	if tr.Meta.Follow == nil {
		t.Fatalf("%s has no follow metadata", path)
	}
	layout, err := abi.LoadLayout(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	slide, _ := tr.Meta.Slide()
	table, errs := abi.TableFromLayout(layout, slide)
	if len(errs) > 0 {
		t.Fatalf("layout records conflict: %v", errs)
	}
	names := map[uint64]string{}
	layout.Addresses(func(pc uint64, fn *abi.FuncShape) { names[pc+slide] = fn.Func })
	words := tr.FollowArea()
	ft, err := abi.DecodeFollowChunks(words, tr.Meta.Follow.ChunkWords, abi.Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	return tr, ft, words, names
}
