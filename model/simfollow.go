package model

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
)

// FollowSimConfig shapes a follow-mode workload: SimConfig's call graph,
// run by a small process tree instead of one task.
type FollowSimConfig struct {
	SimConfig
	// ChunkWords is the chunk size given to KCOV_DF_ENABLE_FOLLOW (0: the
	// default, abi.FollowDefaultChunk).
	ChunkWords int
	// Calls (in SimConfig) is the number of top-level calls each task
	// makes; 0 runs until the buffer is full and a few records were
	// dropped.
}

// FollowSimResult is a simulated follow-mode capture with its truth.
type FollowSimResult struct {
	Area       []uint64
	Layout     *abi.Layout
	ChunkWords int
	// Truth holds every record each task wrote, by tid, in order.
	Truth map[int][]Span
	// Dropped is GET_DROPPED: every record the tree dropped.
	Dropped uint64
	Calls   int
}

// SimulateFollow runs the synthetic call graph as the tree a shell
// running a threaded program makes: sh (the root) forks a child that
// execs "worker", which starts two threads; the four tasks take turns
// making calls, the threads and the worker exit, and sh waits. Each
// task records into chunks of its own (docs/follow.md).
func SimulateFollow(cfg FollowSimConfig) (*FollowSimResult, error) {
	if cfg.ChunkWords == 0 {
		cfg.ChunkWords = abi.FollowDefaultChunk
	}
	if err := cfg.SimConfig.fill(); err != nil {
		return nil, err
	}
	if !abi.ValidChunkWords(uint64(cfg.ChunkWords), uint64(cfg.Words)) {
		return nil, fmt.Errorf("sim: chunks of %d words in a %d-word buffer: want a power of two from %d to %d, smaller than the buffer", cfg.ChunkWords, cfg.Words, abi.FollowMinChunk, abi.FollowMaxChunk)
	}
	s := newSim(cfg.SimConfig)
	res := &FollowSimResult{Layout: s.layout(), ChunkWords: cfg.ChunkWords, Truth: map[int][]Span{}}
	watch := func(t *Task) *Task {
		t.OnRecord = func(off, n int) { res.Truth[t.ID] = append(res.Truth[t.ID], Span{off, n}) }
		return t
	}
	root := watch(s.dev.NewTask())
	root.Comm = "sh"
	f := s.dev.Open()
	if _, err := f.Ioctl(root, abi.IoctlInitTrace, uint64(cfg.Words)); err != nil {
		return nil, fmt.Errorf("sim: INIT_TRACE: %v", err)
	}
	if _, err := f.Ioctl(root, abi.IoctlEnableFollow, uint64(cfg.ChunkWords)); err != nil {
		return nil, fmt.Errorf("sim: ENABLE_FOLLOW: %v", err)
	}
	area := f.buf.words
	s.dev.Mem.Map(simStack, simStackN)
	call := func(t *Task) {
		s.task = t
		s.sp = simStack + simStackN
		s.call(s.rng.IntN(len(s.funcs)), 0)
		res.Calls++
	}
	// done tells whether a task has made its share of calls.
	made := map[*Task]int{}
	done := func(t *Task) bool {
		if cfg.Calls > 0 {
			return made[t] >= cfg.Calls
		}
		return f.buf.follow.dropped.Load() >= 16
	}
	turn := func(t *Task) {
		call(t)
		made[t]++
	}

	turn(root)
	child := watch(root.Fork())
	turn(child) // still the shell, until it execs
	child.Exec("worker")
	threads := []*Task{watch(child.Thread()), watch(child.Thread())}
	for _, t := range threads {
		t.Comm = "worker"
	}
	busy := []*Task{root, child, threads[0], threads[1]}
	for len(busy) > 0 {
		t := busy[s.rng.IntN(len(busy))]
		if done(t) {
			busy = removeTask(busy, t)
			continue
		}
		turn(t)
	}
	threads[0].Exit()
	threads[1].Exit()
	child.Exit()
	res.Dropped, _ = f.Ioctl(root, abi.IoctlGetDropped, 0)
	if _, err := f.Ioctl(root, abi.IoctlDisable, 0); err != nil {
		return nil, fmt.Errorf("sim: DISABLE: %v", err)
	}
	res.Area = area
	return res, nil
}

func removeTask(ts []*Task, t *Task) []*Task {
	for i := range ts {
		if ts[i] == t {
			return append(ts[:i], ts[i+1:]...)
		}
	}
	return ts
}
