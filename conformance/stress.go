package conformance

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kcovdf/kcovdf/abi"
)

// StressResult is what one thread of a stress run recorded.
type StressResult struct {
	Records int
	Words   uint64 // area[0]
	Dropped uint64
	Calls   int // Work units done
	Err     error
}

// Stress runs threads tasks, each with its own buffer of words words,
// doing work for d, and checks that none loses a record silently: every
// buffer holds whole records with gap-free sequence numbers from 1, and
// the drop counter is non-zero exactly when the buffer ran out of room.
func Stress(tg Target, threads int, d time.Duration, words int, opt Options) ([]StressResult, error) {
	e := &env{tg: tg, opt: opt}
	defer func() {
		for i := len(e.cleanup) - 1; i >= 0; i-- {
			e.cleanup[i]()
		}
	}()
	res := make([]StressResult, threads)
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for i := range threads {
		t := e.task()
		f, area, err := e.traced(t, words)
		if err != nil {
			return nil, fmt.Errorf("thread %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[i]
			for time.Now().Before(deadline) {
				if err := t.Work(1); err != nil {
					r.Err = err
					break
				}
				r.Calls++
			}
			r.Dropped, _ = f.Ioctl(t, abi.IoctlGetDropped, 0)
			f.Ioctl(t, abi.IoctlDisable, 0)
			n, _, err := e.records(area, 1)
			r.Records, r.Words = n, area[0]
			if err != nil && r.Err == nil {
				r.Err = err
			}
			// A record is at most a few hundred words; with fewer free than
			// the longest record, dropping is expected, with many free it is
			// a lost record.
			free := uint64(len(area)-1) - area[0]
			switch {
			case r.Err != nil:
			case r.Dropped > 0 && free > 1024:
				r.Err = fmt.Errorf("%d records dropped with %d words free", r.Dropped, free)
			case r.Records == 0:
				r.Err = errors.New("no records")
			}
			f.Close(t)
		}()
	}
	wg.Wait()
	var errs []error
	for i, r := range res {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("thread %d: %v", i, r.Err))
		}
	}
	return res, errors.Join(errs...)
}

// FollowStressTask is what one task of a follow-mode stress run recorded.
type FollowStressTask struct {
	Tid int
	// Kind is "root", "thread" (of the root's process), "process" (forked
	// by the root) or "thread of a child".
	Kind     string
	Calls    int // Work units done
	Records  int
	Chunks   int
	Dropped  uint64 // counted in its chunks
	Err      error
	expected struct{ tgid, ptid int }
}

// FollowStressResult is what a follow-mode stress run found.
type FollowStressResult struct {
	Tasks []FollowStressTask
	// Carved of Slots chunks were handed out; Full: all of them.
	Carved, Slots int
	Full          bool
	// Dropped is GET_DROPPED, ChunkDropped the drops the chunks count.
	Dropped, ChunkDropped uint64
}

// StressFollow runs one followed tree on a buffer of words words: the
// root, threads threads of its process, forks processes it forks and a
// thread of the first of those, all doing work at once for d. Then the
// root stops the tree, and the buffer must decode exactly: every task's
// stream whole records numbered 1, 2, 3, … across its chunks, its process
// and parent right, no anomaly; drops only once every chunk is handed
// out, and GET_DROPPED (final after the stop) the chunks' drops plus
// those of tasks that never got a chunk: equal when every task has one.
//
// A target without the follow mode returns a skip: see Skipped.
func StressFollow(tg Target, threads, forks int, d time.Duration, words int, opt Options) (res *FollowStressResult, err error) {
	e := &env{tg: tg, opt: opt}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
		for i := len(e.cleanup) - 1; i >= 0; i-- {
			e.cleanup[i]()
		}
	}()
	root, f, area, err := e.tree(words)
	if err != nil {
		return nil, err
	}
	tasks := []TreeTask{root}
	res = &FollowStressResult{Tasks: []FollowStressTask{{Kind: "root"}}}
	add := func(parent TreeTask, thread bool, kind string) TreeTask {
		t := e.child(parent, thread)
		r := FollowStressTask{Tid: t.Tid(), Kind: kind}
		r.expected.ptid = parent.Tid()
		r.expected.tgid = t.Tid()
		if thread {
			r.expected.tgid = res.Tasks[slices.Index(tasks, parent)].expected.tgid
		}
		tasks = append(tasks, t)
		res.Tasks = append(res.Tasks, r)
		return t
	}
	res.Tasks[0].Tid = root.Tid()
	res.Tasks[0].expected.tgid = root.Tid()
	for range threads {
		add(root, true, "thread")
	}
	var first TreeTask
	for i := range forks {
		c := add(root, false, "process")
		if i == 0 {
			first = c
		}
	}
	if first != nil {
		add(first, true, "thread of a child")
	}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Go(func() {
			r := &res.Tasks[i]
			// At least once: every task of the tree writes.
			for first := true; first || time.Now().Before(deadline); first = false {
				if err := t.Work(1); err != nil {
					r.Err = err
					return
				}
				r.Calls++
			}
		})
	}
	wg.Wait()
	// The tasks live on and make system calls (the root's own commands
	// among them), dropping more: the total is taken after the stop, when
	// it and the chunks are final.
	if _, err := f.Ioctl(root, abi.IoctlDisable, 0); err != nil {
		return res, fmt.Errorf("DISABLE by the root: %v", err)
	}
	if res.Dropped, err = f.Ioctl(root, abi.IoctlGetDropped, 0); err != nil {
		return res, fmt.Errorf("GET_DROPPED after DISABLE: %v", err)
	}
	ft, err := e.streams(area, false)
	if err != nil {
		return res, err
	}
	res.Carved, res.Slots, res.Full, res.ChunkDropped = ft.Carved, ft.Slots, ft.Full, ft.Dropped
	var errs []error
	chunkless := 0
	for i := range res.Tasks {
		r := &res.Tasks[i]
		ts := ft.Task(r.Tid)
		if r.Err == nil {
			r.Err = checkFollowStream(r, ts, ft.Full)
		}
		if ts == nil {
			chunkless++
		}
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("task %d (%s): %v", r.Tid, r.Kind, r.Err))
		}
	}
	switch {
	case !ft.Full && res.Dropped != 0:
		errs = append(errs, fmt.Errorf("GET_DROPPED %d with %d of %d chunks free", res.Dropped, ft.Slots-ft.Carved, ft.Slots))
	case ft.Dropped > res.Dropped:
		errs = append(errs, fmt.Errorf("the chunks count %d drops, GET_DROPPED only %d", ft.Dropped, res.Dropped))
	case ft.Dropped < res.Dropped && chunkless == 0:
		errs = append(errs, fmt.Errorf("GET_DROPPED %d exceeds the chunks' %d, yet every task has a chunk", res.Dropped, ft.Dropped))
	}
	return res, errors.Join(errs...)
}

// checkFollowStream checks one task's stream of a stress run.
func checkFollowStream(r *FollowStressTask, ts *abi.TaskStream, full bool) error {
	if ts == nil {
		if !full {
			return errors.New("no chunk, though the buffer had chunks free")
		}
		return nil
	}
	r.Records, r.Chunks, r.Dropped = len(ts.Records), len(ts.Chunks), ts.Dropped
	switch {
	case len(ts.Records) == 0 && ts.Dropped == 0:
		return errors.New("a chunk and neither records nor drops")
	case ts.Dropped > 0 && !full:
		return fmt.Errorf("%d records dropped with chunks free", ts.Dropped)
	case ts.Tgid != r.expected.tgid || (r.Kind != "root" && ts.Ptid != r.expected.ptid):
		return fmt.Errorf("process %d, parent %d; want process %d, parent %d", ts.Tgid, ts.Ptid, r.expected.tgid, r.expected.ptid)
	case len(ts.Records) > 0 && ts.Records[0].Seq != 1:
		return fmt.Errorf("the stream starts at sequence %d, want 1", ts.Records[0].Seq)
	}
	return nil
}

// Skipped tells whether err is a skip (a target without the follow mode,
// or whose tasks cannot make trees) and why.
func Skipped(err error) (string, bool) {
	var s skipError
	if errors.As(err, &s) {
		return s.why, true
	}
	return "", false
}
