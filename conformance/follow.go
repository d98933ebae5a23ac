package conformance

// The follow mode's cases (docs/follow.md). A device without the mode
// refuses KCOV_DF_ENABLE_FOLLOW with ENOTTY, as every kernel answers an
// ioctl number it does not know; each case then skips.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/kcovdf/kcovdf/abi"
)

// TreeTask is a task that can create the tasks a followed tree is made
// of. A Target whose tasks are not TreeTasks skips the follow cases.
type TreeTask interface {
	Task
	// Tid is the task's id as the device records it.
	Tid() int
	// Fork creates a child process that the case then drives.
	Fork() (TreeTask, error)
	// Thread creates a new thread of the task's process.
	Thread() (TreeTask, error)
	// Exec replaces the task's program with one named comm.
	Exec(comm string) error
}

// followChunk is the chunk size of the follow cases, the default: a real
// kernel's records are longer than a small chunk holds. followWords is
// their buffer, room for a few execs (a few hundred thousand words each).
const (
	followChunk = abi.FollowDefaultChunk
	followWords = 1 << 20
)

// skipNoFollow is why the follow cases skip on a device without the mode.
const skipNoFollow = "the device refuses KCOV_DF_ENABLE_FOLLOW with ENOTTY: it has no follow mode"

// enableFollow is ENABLE_FOLLOW, turning the refusal of a device without
// the mode into a skip.
func enableFollow(f File, t Task, chunk uint64) error {
	_, err := f.Ioctl(t, abi.IoctlEnableFollow, chunk)
	if errors.Is(err, syscall.ENOTTY) {
		return skipError{skipNoFollow}
	}
	return err
}

// treeTask returns t as a TreeTask, or the skip of a target that cannot
// make trees.
func treeTask(t Task) (TreeTask, error) {
	tt, ok := t.(TreeTask)
	if !ok {
		why := "the target's tasks cannot fork, start threads or exec on demand"
		if n, ok := t.(interface{ NotTreeTask() string }); ok && n.NotTreeTask() != "" {
			why += ": " + n.NotTreeTask()
		}
		return nil, skipError{why}
	}
	return tt, nil
}

// onceFile closes its file once, whether the case or its cleanup does.
type onceFile struct {
	File
	once sync.Once
	err  error
}

func (f *onceFile) Close(t Task) error {
	f.once.Do(func() { f.err = f.File.Close(t) })
	return f.err
}

// followed opens a file with a mapped buffer of n words and enables t on
// it in follow mode; closer closes it after the case, unless the case
// did.
func (e *env) followed(t, closer Task, n int) (File, []uint64, TreeTask, error) {
	f := &onceFile{File: e.open()}
	e.cleanup = append(e.cleanup, func() { f.Close(closer) })
	if _, err := f.Ioctl(t, abi.IoctlInitTrace, uint64(n)); err != nil {
		return nil, nil, nil, fmt.Errorf("INIT_TRACE(%d): %v", n, err)
	}
	area, err := f.Mmap(0, uint64(n)*8, true)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("mmap: %v", err)
	}
	if err := enableFollow(f, t, followChunk); err != nil {
		if errors.Is(err, errSkip) {
			return nil, nil, nil, err
		}
		return nil, nil, nil, fmt.Errorf("ENABLE_FOLLOW(%d): %v", followChunk, err)
	}
	tt, err := treeTask(t)
	return f, area, tt, err
}

// tree starts a task enabled in follow mode on a buffer of n words, the
// root of the case's tree.
func (e *env) tree(n int) (TreeTask, File, []uint64, error) {
	t := e.task()
	f, area, root, err := e.followed(t, t, n)
	return root, f, area, err
}

// child forks (or starts a thread of) t, exiting it after the case.
func (e *env) child(t TreeTask, thread bool) TreeTask {
	var c TreeTask
	var err error
	if thread {
		c, err = t.Thread()
	} else {
		c, err = t.Fork()
	}
	if err != nil {
		panic(fmt.Sprintf("conformance: new task of %d: %v", t.Tid(), err))
	}
	e.cleanup = append(e.cleanup, c.Exit)
	return c
}

// streams decodes a follow-mode area as a reader racing the writers
// would, and checks it: whole records, each task's numbers 1, 2, 3, …
// across its chunks, pcs in kernel text. A chunk still being set up is
// allowed only when live.
func (e *env) streams(area []uint64, live bool) (*abi.FollowTrace, error) {
	ft, err := abi.DecodeFollowChunks(abi.SnapshotFollow(area, followChunk), followChunk, abi.Options{Table: e.opt.Table})
	if err != nil {
		return nil, err
	}
	for _, a := range ft.Anomalies {
		if live && (a.Kind == abi.AnomalyTornTail || a.Kind == abi.AnomalyUnattributed) {
			continue
		}
		return nil, fmt.Errorf("%d anomalies, the first: %v", len(ft.Anomalies), a)
	}
	for _, ts := range ft.Tasks {
		for _, r := range ts.Records {
			if r.PC < 0xffffffff80000000 {
				return nil, fmt.Errorf("task %d record %d: pc %#x outside kernel text", ts.Tid, r.Seq, r.PC)
			}
		}
	}
	return ft, nil
}

// streamOf decodes a final area and returns t's stream too.
func (e *env) streamOf(area []uint64, t TreeTask, what string) (*abi.FollowTrace, *abi.TaskStream, error) {
	ft, err := e.streams(area, false)
	if err != nil {
		return nil, nil, err
	}
	ts, err := stream(ft, t, what)
	return ft, ts, err
}

// stream returns the stream of task t, which must have recorded.
func stream(ft *abi.FollowTrace, t TreeTask, what string) (*abi.TaskStream, error) {
	ts := ft.Task(t.Tid())
	if ts == nil || len(ts.Records) == 0 {
		return nil, fmt.Errorf("%s (task %d): no records", what, t.Tid())
	}
	return ts, nil
}

func followCases() []Case {
	E := syscall.Errno(0)
	return []Case{
		{"follow: ENABLE_FOLLOW's errnos", "follow.md: Errors", func(e *env) error {
			t, f := e.task(), e.open()
			defer f.Close(t)
			if err := enableFollow(f, t, 0); errors.Is(err, errSkip) {
				return err
			} else if err := want("ENABLE_FOLLOW without buffer", err, syscall.EINVAL); err != nil {
				return err
			}
			u, g := e.task(), e.open()
			defer g.Close(u)
			type call struct {
				f     File
				t     Task
				cmd   uint32
				arg   uint64
				errno syscall.Errno
				what  string
			}
			calls := []call{{f, t, abi.IoctlInitTrace, 4 * pageWords, E, "INIT_TRACE"}}
			for _, c := range []uint64{32, 100, 4 * pageWords, 1 << 21} {
				calls = append(calls, call{f, t, abi.IoctlEnableFollow, c, syscall.EINVAL, fmt.Sprintf("ENABLE_FOLLOW with chunks of %d words", c)})
			}
			calls = append(calls, []call{
				{f, t, abi.IoctlEnableFollow, 256, E, "ENABLE_FOLLOW(256)"},
				{f, t, abi.IoctlEnableFollow, 256, syscall.EINVAL, "ENABLE_FOLLOW again"},
				{f, u, abi.IoctlEnableFollow, 256, syscall.EINVAL, "ENABLE_FOLLOW by another task"},
				{f, t, abi.IoctlDisable, 0, E, "DISABLE"},
				{f, t, abi.IoctlEnable, 0, syscall.EINVAL, "plain ENABLE of a follow-mode buffer"},
				{f, t, abi.IoctlEnableFollow, 512, syscall.EINVAL, "ENABLE_FOLLOW with another chunk size"},
				{f, t, abi.IoctlEnableFollow, 0, E, "ENABLE_FOLLOW(0): the buffer's chunk size"},
				{f, t, abi.IoctlDisable, 0, E, "DISABLE"},
				{g, u, abi.IoctlInitTrace, 4 * pageWords, E, "INIT_TRACE"},
				{g, u, abi.IoctlEnable, 0, E, "ENABLE"},
				{g, u, abi.IoctlDisable, 0, E, "DISABLE"},
				{g, u, abi.IoctlEnableFollow, 0, syscall.EINVAL, "ENABLE_FOLLOW of a buffer used in v1"},
			}...)
			for _, c := range calls {
				_, err := c.f.Ioctl(c.t, c.cmd, c.arg)
				if err := want(c.what, err, c.errno); err != nil {
					return err
				}
			}
			return nil
		}},
		{"follow: threads on two CPUs writing at once", "follow.md: Concurrent writers", func(e *env) error {
			root, f, area, err := e.tree(followWords)
			if err != nil {
				return err
			}
			a, b := e.child(root, true), e.child(root, true)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, k := range []TreeTask{a, b} {
				wg.Go(func() { errs[i] = k.Work(100) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return err
			}
			if _, err := f.Ioctl(root, abi.IoctlDisable, 0); err != nil {
				return want("DISABLE", err, E)
			}
			ft, err := e.streams(area, false)
			if err != nil {
				return err
			}
			for _, k := range []TreeTask{a, b} {
				ts, err := stream(ft, k, "thread")
				if err != nil {
					return err
				}
				if ts.Ptid != root.Tid() || ts.Dropped != 0 {
					return fmt.Errorf("thread %d: parent %d, %d dropped; want parent %d and no drop", k.Tid(), ts.Ptid, ts.Dropped, root.Tid())
				}
				if len(ts.Chunks) < 2 {
					return fmt.Errorf("thread %d: %d chunk, want a stream across chunks", k.Tid(), len(ts.Chunks))
				}
			}
			if ft.Task(a.Tid()).Tgid != ft.Task(b.Tid()).Tgid {
				return fmt.Errorf("two threads of one process in processes %d and %d", ft.Task(a.Tid()).Tgid, ft.Task(b.Tid()).Tgid)
			}
			return nil
		}},
		{"follow: fork then exec", "follow.md: Task life cycle, exec", func(e *env) error {
			root, f, area, err := e.tree(followWords)
			if err != nil {
				return err
			}
			c := e.child(root, false)
			if err := steps(func() error { return c.Work(3) }, func() error { return c.Exec("cat") }, func() error { return c.Work(3) }); err != nil {
				return err
			}
			c.Exit()
			f.Ioctl(root, abi.IoctlDisable, 0)
			_, ts, err := e.streamOf(area, c, "the child")
			if err != nil {
				return err
			}
			i := slices.IndexFunc(ts.Chunks, func(ch abi.Chunk) bool { return ch.Flags&abi.ChunkExec != 0 })
			switch {
			case i <= 0:
				return fmt.Errorf("the child's chunks %v: want its records before the exec, then a chunk flagged exec", ts.Chunks)
			case ts.Chunks[i].Comm != "cat" || ts.Comm != "cat":
				return fmt.Errorf("after the exec the chunk is named %q, want \"cat\"", ts.Chunks[i].Comm)
			case !ts.Exited || ts.Ptid != root.Tid() || ts.Tgid != c.Tid():
				return fmt.Errorf("the child: exited %v, parent %d, process %d; want exited, parent %d, its own process", ts.Exited, ts.Ptid, ts.Tgid, root.Tid())
			}
			return nil
		}},
		{"follow: a child that outlives the parent", "follow.md: Task life cycle, exit", func(e *env) error {
			t, err := e.tg.NewTask()
			if err != nil {
				return err
			}
			u := e.task()
			f, area, root, err := e.followed(t, u, followWords)
			if err != nil {
				t.Exit()
				return err
			}
			c := e.child(root, false)
			if err := root.Work(1); err != nil {
				return err
			}
			t.Exit()
			if err := c.Work(20); err != nil {
				return err
			}
			_, err = f.Ioctl(u, abi.IoctlEnableFollow, 0)
			if err := want("ENABLE_FOLLOW while the child of the exited root runs", err, syscall.EINVAL); err != nil {
				return err
			}
			ft, ts, err := e.streamOf(area, c, "the child")
			if err != nil {
				return err
			}
			rs, err := stream(ft, root, "the root")
			if err != nil {
				return err
			}
			if ts.Exited || !rs.Exited {
				return fmt.Errorf("exited: root %v, child %v; want true, false", rs.Exited, ts.Exited)
			}
			c.Exit()
			if ft, err = e.streams(area, false); err != nil {
				return err
			}
			if !ft.Task(c.Tid()).Exited {
				return errors.New("the child's exit is not marked in its last chunk")
			}
			return steps(
				func() error {
					_, err := f.Ioctl(u, abi.IoctlEnableFollow, 0)
					return want("ENABLE_FOLLOW once the tree is gone", err, E)
				},
				func() error { _, err := f.Ioctl(u, abi.IoctlDisable, 0); return want("its DISABLE", err, E) },
			)
		}},
		{"follow: exit while the parent still reads", "follow.md: Reading the buffer", func(e *env) error {
			root, f, area, err := e.tree(followWords)
			if err != nil {
				return err
			}
			defer f.Ioctl(root, abi.IoctlDisable, 0)
			c := e.child(root, false)
			done := make(chan error, 1)
			go func() {
				err := c.Work(200)
				c.Exit()
				done <- err
			}()
			seen, reads := 0, 0
			for finished := false; !finished; reads++ {
				select {
				case err := <-done:
					if err != nil {
						return err
					}
					finished = true
				default:
				}
				ft, err := e.streams(area, !finished)
				if err != nil {
					return fmt.Errorf("read %d: %v", reads, err)
				}
				if ts := ft.Task(c.Tid()); ts != nil {
					if len(ts.Records) < seen {
						return fmt.Errorf("read %d: %d records, fewer than the %d seen before", reads, len(ts.Records), seen)
					}
					seen = len(ts.Records)
					if finished && !ts.Exited {
						return errors.New("the child exited, its stream is not marked so")
					}
				}
			}
			if seen == 0 {
				return errors.New("the child recorded nothing")
			}
			return nil
		}},
		{"follow: a fork loop fills the buffer", "follow.md: Full buffer", func(e *env) error {
			t := e.task()
			// Three chunks: the children soon find none left.
			f, area, root, err := e.followed(t, t, 8*pageWords)
			if err != nil {
				return err
			}
			for range 20 {
				c := e.child(root, false)
				if err := c.Work(10); err != nil {
					return err
				}
				c.Exit()
			}
			total, err := f.Ioctl(t, abi.IoctlGetDropped, 0)
			if err != nil {
				return want("GET_DROPPED", err, E)
			}
			f.Ioctl(t, abi.IoctlDisable, 0)
			ft, err := e.streams(area, false)
			switch {
			case err != nil:
				return err
			case !ft.Full || total == 0:
				return fmt.Errorf("%d chunks of %d carved, %d records dropped: twenty children must fill %d words", ft.Carved, ft.Slots, total, 8*pageWords)
			case ft.Dropped > total:
				return fmt.Errorf("the chunks count %d drops, GET_DROPPED only %d", ft.Dropped, total)
			}
			return nil
		}},
		{"follow: DISABLE from the parent while children still run", "follow.md: Stopping", func(e *env) error {
			return stopWhileRunning(e, false)
		}},
		{"follow: close from the parent while children still run", "follow.md: Stopping", func(e *env) error {
			return stopWhileRunning(e, true)
		}},
	}
}

// stopWhileRunning: the root stops the tree (DISABLE, or the close that
// releases the file) while two children and a thread keep making system
// calls. After DISABLE the buffer must not change; after either the
// children are free to trace through a file of their own.
func stopWhileRunning(e *env, byClose bool) error {
	E := syscall.Errno(0)
	root, f, area, err := e.tree(followWords)
	if err != nil {
		return err
	}
	kids := []TreeTask{e.child(root, false), e.child(root, false), e.child(root, true)}
	stop := make(chan struct{})
	errs := make([]error, len(kids))
	var wg sync.WaitGroup
	for i, k := range kids {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := k.Work(1); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	stopped := func() { close(stop); wg.Wait() }
	time.Sleep(5 * time.Millisecond)
	if byClose {
		if err := f.Close(root); err != nil {
			stopped()
			return fmt.Errorf("close by the root: %v", err)
		}
	} else {
		if _, err := f.Ioctl(root, abi.IoctlDisable, 0); err != nil {
			stopped()
			return want("DISABLE by the root", err, E)
		}
		before := abi.SnapshotFollow(area, followChunk)
		time.Sleep(5 * time.Millisecond)
		after := abi.SnapshotFollow(area, followChunk)
		if !slices.Equal(before, after) {
			stopped()
			return errors.New("the buffer changed after DISABLE returned")
		}
	}
	stopped()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !byClose {
		if _, err := e.streams(area, false); err != nil {
			return err
		}
	}
	// Neither the children nor the root are held by the stopped tree.
	for _, k := range []Task{kids[0], kids[2], root} {
		g := e.open()
		err := steps(
			func() error { _, err := g.Ioctl(k, abi.IoctlInitTrace, pageWords); return want("INIT_TRACE", err, E) },
			func() error {
				_, err := g.Ioctl(k, abi.IoctlEnable, 0)
				return want("ENABLE of a new file after the stop", err, E)
			},
			func() error { _, err := g.Ioctl(k, abi.IoctlDisable, 0); return want("its DISABLE", err, E) },
		)
		g.Close(k)
		if err != nil {
			return err
		}
	}
	return nil
}
