package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

// followed returns a device, a root task enabled in follow mode with
// chunks of chunk words, its file and the buffer of n words.
func followed(t *testing.T, n, chunk int) (*Device, *Task, *File, []uint64) {
	t.Helper()
	return enabled(t, n, abi.IoctlEnableFollow, uint64(chunk))
}

// syscalls makes t write n times the four records of a small system
// call: two entries, two returns, the last carrying i.
func syscalls(t *Task, n int) {
	for i := range n {
		t.TraceArgs(tPC, 0, 4, 0, 0, 0)
		t.TraceArgs(tPC+0x40, 0, 8, 0, 0, 0)
		t.TraceRet(tPC+0x40, 8, 0, 0, 0)
		t.TraceRet(tPC, 4, uint64(i), 0, 0)
	}
}

func wantErr(t *testing.T, what string, got error, want syscall.Errno) {
	t.Helper()
	if want == 0 && got != nil || want != 0 && !errors.Is(got, want) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

func TestFollowErrnos(t *testing.T) {
	dev := NewDevice(nil)
	a, b := dev.NewTask(), dev.NewTask()
	f := dev.Open()
	_, err := f.Ioctl(a, abi.IoctlEnableFollow, 0)
	wantErr(t, "ENABLE_FOLLOW without a buffer", err, syscall.EINVAL)
	f.Ioctl(a, abi.IoctlInitTrace, 4096)
	for _, c := range []uint64{32, 100, 4096, 1 << 21} {
		_, err = f.Ioctl(a, abi.IoctlEnableFollow, c)
		wantErr(t, fmt.Sprintf("ENABLE_FOLLOW with a chunk of %d words", c), err, syscall.EINVAL)
	}
	_, err = f.Ioctl(a, abi.IoctlEnableFollow, 256)
	wantErr(t, "ENABLE_FOLLOW(256)", err, 0)
	_, err = f.Ioctl(a, abi.IoctlEnableFollow, 256)
	wantErr(t, "ENABLE_FOLLOW again", err, syscall.EINVAL)
	child := a.Fork()
	_, err = f.Ioctl(child, abi.IoctlDisable, 0)
	wantErr(t, "DISABLE by a follower", err, syscall.EINVAL)
	g := dev.Open()
	g.Ioctl(child, abi.IoctlInitTrace, 512)
	_, err = g.Ioctl(child, abi.IoctlEnable, 0)
	wantErr(t, "ENABLE of another file by a follower", err, syscall.EBUSY)
	_, err = f.Ioctl(a, abi.IoctlDisable, 0)
	wantErr(t, "DISABLE by the root", err, 0)
	// The stopped tree holds its follower no more.
	_, err = g.Ioctl(child, abi.IoctlEnable, 0)
	wantErr(t, "ENABLE of another file by a follower of a stopped tree", err, 0)
	_, err = f.Ioctl(a, abi.IoctlEnable, 0)
	wantErr(t, "plain ENABLE of a follow-mode buffer", err, syscall.EINVAL)
	_, err = f.Ioctl(a, abi.IoctlEnableFollow, 512)
	wantErr(t, "ENABLE_FOLLOW with another chunk size", err, syscall.EINVAL)
	_, err = f.Ioctl(a, abi.IoctlEnableFollow, 0)
	wantErr(t, "ENABLE_FOLLOW again, chunk size kept", err, 0)
	// The root exits, its child lives on: the file stays busy.
	c2 := a.Fork()
	a.Exit()
	_, err = f.Ioctl(b, abi.IoctlEnableFollow, 0)
	wantErr(t, "ENABLE_FOLLOW while the tree runs without its root", err, syscall.EINVAL)
	c2.Exit()
	_, err = f.Ioctl(b, abi.IoctlEnableFollow, 0)
	wantErr(t, "ENABLE_FOLLOW once the tree is gone", err, 0)
	// 0 keeps the buffer's chunk size even where the default would not fit.
	small := dev.Open()
	small.Ioctl(b, abi.IoctlInitTrace, 512)
	d := dev.NewTask()
	_, err = small.Ioctl(d, abi.IoctlEnableFollow, 64)
	wantErr(t, "ENABLE_FOLLOW(64) of a 512-word buffer", err, 0)
	small.Ioctl(d, abi.IoctlDisable, 0)
	_, err = small.Ioctl(d, abi.IoctlEnableFollow, 0)
	wantErr(t, "ENABLE_FOLLOW(0) of a 512-word buffer of 64-word chunks", err, 0)
	// A v1 buffer refuses the follow mode.
	h := dev.Open()
	h.Ioctl(b, abi.IoctlInitTrace, 4096)
	c := dev.NewTask()
	h.Ioctl(c, abi.IoctlEnable, 0)
	h.Ioctl(c, abi.IoctlDisable, 0)
	_, err = h.Ioctl(c, abi.IoctlEnableFollow, 0)
	wantErr(t, "ENABLE_FOLLOW of a v1 buffer", err, syscall.EINVAL)
}

// truth records, per task, where the model wrote each record.
type truth struct {
	mu    sync.Mutex
	spans map[int][]Span
}

func (tr *truth) watch(t *Task) {
	t.OnRecord = func(off, words int) {
		tr.mu.Lock()
		tr.spans[t.ID] = append(tr.spans[t.ID], Span{off, words})
		tr.mu.Unlock()
	}
}

// checkStreams decodes area and compares every task's records with the
// truth: same places, sequence numbers 1, 2, 3, …, no anomaly.
func checkStreams(t *testing.T, area []uint64, chunk int, tr *truth) *abi.FollowTrace {
	t.Helper()
	ft, err := abi.DecodeFollow(abi.SnapshotFollow(area, chunk), abi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ft.Anomalies {
		t.Errorf("anomaly: %v", a)
	}
	for tid, spans := range tr.spans {
		ts := ft.Task(tid)
		if ts == nil {
			t.Errorf("task %d wrote %d records, none decoded", tid, len(spans))
			continue
		}
		if len(ts.Records) != len(spans) {
			t.Errorf("task %d: %d records decoded, %d written", tid, len(ts.Records), len(spans))
			continue
		}
		for i, r := range ts.Records {
			if (Span{r.Offset, r.Words()}) != spans[i] || r.Seq != uint32(i+1) {
				t.Errorf("task %d record %d: at %d (%d words) seq %d, want %v seq %d", tid, i, r.Offset, r.Words(), r.Seq, spans[i], i+1)
				break
			}
		}
	}
	return ft
}

func TestFollowTree(t *testing.T) {
	_, root, f, area := followed(t, 1+64*64, 64)
	tr := &truth{spans: map[int][]Span{}}
	tr.watch(root)
	root.Comm = "sh"
	syscalls(root, 3)
	cat, wc := root.Fork(), root.Fork()
	thr := wc.Thread()
	for _, k := range []*Task{cat, wc, thr} {
		tr.watch(k)
	}
	syscalls(cat, 2)
	cat.Exec("cat")
	syscalls(cat, 5) // more than a chunk: 20 records of 4 words
	wc.Exec("wc")
	syscalls(wc, 1)
	syscalls(thr, 1)
	cat.Exit()
	syscalls(root, 1)
	ft := checkStreams(t, area, 64, tr)
	if _, err := f.Ioctl(root, abi.IoctlDisable, 0); err != nil {
		t.Fatal(err)
	}
	type id struct {
		tid, tgid, ptid int
		comm            string
		root, exited    bool
		chunks          int
	}
	var got []id
	for _, ts := range ft.Tasks {
		got = append(got, id{ts.Tid, ts.Tgid, ts.Ptid, ts.Comm, ts.Root, ts.Exited, len(ts.Chunks)})
	}
	want := []id{
		{root.ID, root.ID, 0, "sh", true, false, 2},
		{cat.ID, cat.ID, root.ID, "cat", false, true, 3},
		// wc's first chunk is carved after its exec: one chunk, flagged
		// first and exec.
		{wc.ID, wc.ID, root.ID, "wc", false, false, 1},
		{thr.ID, wc.ID, wc.ID, "sh", false, false, 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("tasks\n got %+v\nwant %+v", got, want)
	}
	// cat: before the exec named after its parent, then "cat" twice.
	var flags []abi.ChunkFlag
	var comms []string
	for _, c := range ft.Task(cat.ID).Chunks {
		flags, comms = append(flags, c.Flags), append(comms, c.Comm)
	}
	if !slices.Equal(flags, []abi.ChunkFlag{abi.ChunkFirst, abi.ChunkExec, abi.ChunkExited}) || !slices.Equal(comms, []string{"sh", "cat", "cat"}) {
		t.Fatalf("cat's chunks: flags %v names %q", flags, comms)
	}
	if ft.Task(wc.ID).Chunks[0].Flags != abi.ChunkFirst|abi.ChunkExec {
		t.Fatalf("wc's chunk flags %v, want first,exec", ft.Task(wc.ID).Chunks[0].Flags)
	}
}

// Eight tasks on goroutines of their own, forking and writing at once:
// run with -race, this checks that what tasks share is shared safely.
func TestFollowConcurrentWriters(t *testing.T) {
	_, root, f, area := followed(t, 1+1024*128, 128)
	tr := &truth{spans: map[int][]Span{}}
	var tasks []*Task
	for range 8 {
		k := root.Thread()
		tr.watch(k)
		tasks = append(tasks, k)
	}
	var wg sync.WaitGroup
	for i, k := range tasks {
		wg.Go(func() {
			syscalls(k, 300+i)
			c := k.Fork()
			tr.watch(c)
			syscalls(c, 10)
			c.Exit()
			k.Exit()
		})
	}
	// A reader racing the writers sees whole records only. A sequence gap
	// where a stream's chunk begins is the one inconsistency a copy taken
	// chunk after chunk may show (docs/follow.md): the earlier chunk got
	// its last records after it was copied.
	for range 20 {
		ft, err := abi.DecodeFollow(abi.SnapshotFollow(area, 128), abi.Options{})
		if err == nil {
			for _, a := range ft.Anomalies {
				switch {
				case a.Kind == abi.AnomalyTornTail, a.Kind == abi.AnomalyUnattributed:
				case a.Kind == abi.AnomalySeqGap && strings.Contains(a.Detail, " starts at sequence "):
				default:
					t.Errorf("mid-write anomaly: %v", a)
				}
			}
		}
	}
	wg.Wait()
	f.Ioctl(root, abi.IoctlDisable, 0)
	ft := checkStreams(t, area, 128, tr)
	if len(ft.Tasks) != 16 || ft.Dropped != 0 {
		t.Fatalf("%d tasks, %d dropped; want 16 and 0", len(ft.Tasks), ft.Dropped)
	}
}

// A fork loop fills the buffer: every record is either in a stream or
// counted, per task where the task has a chunk, in GET_DROPPED always.
func TestFollowForkLoopFillsBuffer(t *testing.T) {
	const chunk = 64
	_, root, f, area := followed(t, 1+15*chunk, chunk)
	tr := &truth{spans: map[int][]Span{}}
	attempts := 0
	for range 40 {
		c := root.Fork()
		tr.watch(c)
		syscalls(c, 5)
		attempts += 20
		c.Exit()
	}
	ft := checkStreams(t, area, 64, tr)
	total, _ := f.Ioctl(root, abi.IoctlGetDropped, 0)
	written := 0
	for _, s := range tr.spans {
		written += len(s)
	}
	if !ft.Full || written+int(total) != attempts {
		t.Fatalf("full %v: %d written + %d dropped != %d records", ft.Full, written, total, attempts)
	}
	// Chunks hold 14 records of 4 words, a child writes 20: seven
	// children take two chunks each, the eighth gets the last chunk and
	// counts its 6 drops there; the later ones get none and are counted
	// in GET_DROPPED only.
	if written != 7*20+14 || ft.Dropped != 6 || int(total) != 40*20-written {
		t.Fatalf("written %d, dropped %d in chunks, %d in all", written, ft.Dropped, total)
	}
}

// After DISABLE or close returns, no task of the tree writes a word:
// the buffer is final while the tasks run on.
func TestFollowStopIsFinal(t *testing.T) {
	for _, how := range []string{"disable", "close"} {
		dev, root, f, area := followed(t, 1+256*64, 64)
		kids := []*Task{root.Fork(), root.Fork(), root.Thread()}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		started := make(chan struct{}, len(kids))
		for _, k := range kids {
			wg.Go(func() {
				started <- struct{}{}
				for {
					select {
					case <-stop:
						return
					default:
						syscalls(k, 1)
					}
				}
			})
		}
		for range kids {
			<-started
		}
		var err error
		if how == "disable" {
			_, err = f.Ioctl(root, abi.IoctlDisable, 0)
		} else {
			err = f.Close(root)
		}
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		before := abi.SnapshotFollow(area, 64)
		for _, k := range kids {
			syscalls(k, 1) // from this goroutine too, for certain
		}
		close(stop)
		wg.Wait()
		if after := abi.SnapshotFollow(area, 64); !slices.Equal(before, after) {
			t.Fatalf("%s: the buffer changed after it returned", how)
		}
		// The followers are free to trace through another file.
		g := dev.Open()
		g.Ioctl(kids[0], abi.IoctlInitTrace, 512)
		if _, err := g.Ioctl(kids[0], abi.IoctlEnable, 0); err != nil {
			t.Fatalf("%s: a follower's ENABLE of another file: %v", how, err)
		}
		if how == "disable" {
			// The stopped followers hold the file no more either.
			if _, err := f.Ioctl(root, abi.IoctlEnableFollow, 0); err != nil {
				t.Fatalf("ENABLE_FOLLOW after DISABLE with followers still running: %v", err)
			}
		}
	}
}

// A child outlives the root: it goes on recording, and its stream ends
// exited; a task that has not exited is not marked.
func TestFollowChildOutlivesRoot(t *testing.T) {
	dev, root, f, area := followed(t, 1+64*64, 64)
	tr := &truth{spans: map[int][]Span{}}
	c := root.Fork()
	tr.watch(c)
	tr.watch(root)
	syscalls(root, 1)
	root.Exit()
	syscalls(c, 30)
	reader := dev.NewTask()
	if _, err := f.Ioctl(reader, abi.IoctlEnableFollow, 0); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("ENABLE_FOLLOW while the child runs: %v, want EINVAL", err)
	}
	ft := checkStreams(t, area, 64, tr)
	if !ft.Task(root.ID).Exited || ft.Task(c.ID).Exited {
		t.Fatalf("exited: root %v child %v, want true false", ft.Task(root.ID).Exited, ft.Task(c.ID).Exited)
	}
	c.Exit()
	ft = checkStreams(t, area, 64, tr)
	if !ft.Task(c.ID).Exited {
		t.Fatal("the child's exit is not marked")
	}
}

// User space may write the whole mapping: the kernel keeps its own
// positions and never writes outside the chunks it carved, nor reads
// what user space wrote.
func TestFollowIgnoresUserWrites(t *testing.T) {
	const slack = 40 // words after the last chunk
	_, root, f, area := followed(t, 1+4*64+slack, 64)
	syscalls(root, 1)
	const junk = 0x5a5a5a5a5a5a5a5a
	for i := range area {
		area[i] = junk
	}
	syscalls(root, 30)
	for i, w := range area[1+4*64:] {
		if w != junk {
			t.Fatalf("word %d after the chunks written: %#x", 1+4*64+i, w)
		}
	}
	// 4 chunks of 14 records: 56 written, 124 − 56 = 68 dropped.
	if d, _ := f.Ioctl(root, abi.IoctlGetDropped, 0); d != 124-56 {
		t.Fatalf("dropped %d, want %d", d, 124-56)
	}
}

// After an exec on a full buffer the task has no new chunk: its drops and
// its exit flag go to the chunk it had, so its stream still ends complete.
func TestFollowExecOnFullBuffer(t *testing.T) {
	const chunk = 64
	_, root, f, area := followed(t, 1+2*chunk, chunk)
	c := root.Fork()
	syscalls(c, 7) // 28 records of 4 words: both chunks, 56 words each
	c.Exec("worker")
	syscalls(c, 1) // 4 records, no chunk left
	c.Exit()
	f.Ioctl(root, abi.IoctlDisable, 0)
	ft, err := abi.DecodeFollow(abi.SnapshotFollow(area, chunk), abi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := ft.Task(c.ID)
	if ts == nil {
		t.Fatal("no stream of the child")
	}
	last := ts.Chunks[len(ts.Chunks)-1]
	total, _ := f.Ioctl(root, abi.IoctlGetDropped, 0)
	if len(ts.Records) != 28 || last.Dropped != 4 || last.Flags&abi.ChunkExited == 0 || total != 4 {
		t.Fatalf("%d records, last chunk %+v, %d dropped in all; want 28, 4 dropped there and exited, 4", len(ts.Records), last, total)
	}
}

// A task of a stopped tree lets go of the buffer at its next fork or exec.
func TestFollowStaleTaskLetsGo(t *testing.T) {
	_, root, f, _ := followed(t, 1+4*64, 64)
	a, b := root.Fork(), root.Fork()
	f.Ioctl(root, abi.IoctlDisable, 0)
	if !a.Bound() || !b.Bound() {
		t.Fatal("the stop touched the tasks")
	}
	if g := a.Fork(); g.Bound() || a.Bound() {
		t.Fatalf("after a fork: child bound %v, parent bound %v; want neither", g.Bound(), a.Bound())
	}
	b.Exec("sh")
	if b.Bound() {
		t.Fatal("bound after an exec")
	}
}

// A stale task lets go of its binding first thing in either ENABLE, as
// the kernel does: an ENABLE refused with EINVAL still unbinds it. A task
// whose binding is live keeps it.
func TestRefusedEnableUnbindsStaleTask(t *testing.T) {
	for _, cmd := range []uint32{abi.IoctlEnable, abi.IoctlEnableFollow} {
		name := abi.IoctlName(cmd)
		dev, root, f, _ := followed(t, 1+4*64, 64)
		stopped, live := root.Fork(), root.Fork()
		noBuffer := dev.Open()
		if _, err := noBuffer.Ioctl(live, cmd, 0); !errors.Is(err, syscall.EINVAL) || !live.Bound() {
			t.Fatalf("%s without a buffer by a task of a running tree: %v, bound %v; want EINVAL, bound", name, err, live.Bound())
		}
		f.Ioctl(root, abi.IoctlDisable, 0)
		_, err := noBuffer.Ioctl(stopped, cmd, 0)
		wantErr(t, name+" without a buffer by a task of a stopped tree", err, syscall.EINVAL)
		if stopped.Bound() {
			t.Errorf("%s refused: a task of a stopped tree still bound", name)
		}

		// A file closed by another task.
		closed := dev.Open()
		traced := dev.NewTask()
		closed.Ioctl(traced, abi.IoctlInitTrace, 4096)
		if _, err := closed.Ioctl(traced, abi.IoctlEnable, 0); err != nil {
			t.Fatal(err)
		}
		closed.Close(dev.NewTask())
		_, err = f.Ioctl(traced, cmd, 100) // f is in follow mode, and 100 is no chunk size
		wantErr(t, name+" refused by a task of a closed file", err, syscall.EINVAL)
		if traced.Bound() {
			t.Errorf("%s refused: a task of a closed file still bound", name)
		}
	}
}
