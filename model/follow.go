package model

// The follow mode (docs/follow.md): a task enabled with
// KCOV_DF_ENABLE_FOLLOW and every task it creates, transitively, record
// into chunks carved from one buffer, each chunk owned by one task.
//
// Unlike the rest of the model, the tasks of a followed tree may run on
// goroutines of their own, as they run on CPUs of their own in the
// kernel: what the callbacks share is atomic here as it is there, and
// what fork, exit and the ioctls share is under a lock, the description's
// spinlock.

import (
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/kcovdf/kcovdf/abi"
)

// followState is the follow mode's part of a buffer.
type followState struct {
	words []uint64
	chunk int // words per chunk, a power of two
	slots int
	// carved hands out chunk slots, one atomic add each (the bump
	// pointer); full tells that one was refused, so that the tasks stop
	// adding.
	carved atomic.Int64
	full   atomic.Bool
	// gen identifies the current tree: a stop (DISABLE, close) moves it
	// on, so that every task of the old tree is silent at its next
	// callback without anyone touching it.
	gen atomic.Uint64
	// dropped is GET_DROPPED: every record the tree's tasks dropped,
	// those of tasks without a chunk included.
	dropped atomic.Uint64
	// writing stands for RCU: each record is written inside a read-side
	// section, and a stop waits for the sections in flight, so that the
	// buffer is final once DISABLE or close returns.
	writing sync.RWMutex
	// mu is the description's spinlock: live counts the tasks of the
	// current tree still bound, which fork and exit change.
	mu   sync.Mutex
	live int
}

// followBinding is a task's part of a followed tree.
type followBinding struct {
	on  bool
	gen uint64
	// chunk is the word index of the task's current chunk's tag, 0 when
	// it has none (area[0] is never a chunk); used counts its record
	// words, dropped its drops, as the kernel keeps them in the task, never
	// trusting the mapping, which user space may write.
	chunk   int
	used    int
	dropped uint64
	ordinal uint32
	// next: the flags of the task's next chunk.
	next abi.ChunkFlag
}

// enableFollow is KCOV_DF_ENABLE_FOLLOW with a chunk size of arg words.
func (f *File) enableFollow(t *Task, arg uint64) error {
	t.dropStale()
	if f.buf == nil || f.task != nil || f.buf.v1 {
		return syscall.EINVAL
	}
	fs := f.buf.follow
	// 0 is the buffer's chunk size once it has one, else the default.
	c := arg
	switch {
	case c == 0 && fs != nil:
		c = uint64(fs.chunk)
	case c == 0:
		c = abi.FollowDefaultChunk
	}
	switch {
	case !abi.ValidChunkWords(c, uint64(len(f.buf.words))):
		return syscall.EINVAL
	case fs != nil && arg != 0 && int(arg) != fs.chunk:
		// The buffer is carved in one size for its whole life.
		return syscall.EINVAL
	case fs != nil && fs.liveTasks() > 0:
		// The tree of an earlier ENABLE_FOLLOW still runs: its root
		// exited, but not all of its tasks have.
		return syscall.EINVAL
	}
	if t.file != nil {
		return syscall.EBUSY
	}
	if fs == nil {
		fs = &followState{words: f.buf.words, chunk: int(c), slots: (len(f.buf.words) - 1) / int(c)}
		f.buf.follow = fs
	}
	fs.mu.Lock()
	fs.live = 1
	fs.mu.Unlock()
	fs.dropped.Store(0)
	f.dev.binding.Lock()
	f.task = t
	f.dev.binding.Unlock()
	t.file, t.buf, t.seq = f, f.buf, 0
	t.fol = followBinding{on: true, gen: fs.gen.Load(), next: abi.ChunkFirst | abi.ChunkRoot}
	return nil
}

func (fs *followState) liveTasks() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.live
}

// stop ends the current tree: its tasks record nothing more once it
// returns (the kernel: a new generation, then synchronize_rcu()).
func (fs *followState) stop() {
	fs.mu.Lock()
	fs.gen.Add(1)
	fs.live = 0
	fs.mu.Unlock()
	// Taking it exclusively waits for the records in flight.
	fs.writing.Lock()
	fs.writing.Unlock() //nolint:staticcheck // empty on purpose

}

// join binds the new task c to t's tree, if t records in one: the whole
// cost of a fork, a few stores and a reference.
func (t *Task) join(c *Task) {
	if !t.fol.on {
		return
	}
	// A task of a stopped tree lets go of the buffer at its next fork.
	if t.dropStale() {
		return
	}
	fs := t.buf.follow
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.gen.Load() != t.fol.gen || t.buf.closed.Load() {
		return
	}
	fs.live++
	c.file, c.buf = t.file, t.buf
	c.fol = followBinding{on: true, gen: t.fol.gen, next: abi.ChunkFirst}
}

// leaveTree is the follow part of an unbind.
func (t *Task) leaveTree() {
	if !t.fol.on {
		return
	}
	fs := t.buf.follow
	fs.mu.Lock()
	if fs.gen.Load() == t.fol.gen {
		fs.live--
	}
	fs.mu.Unlock()
	t.fol = followBinding{}
}

// Exec is execve by t: t stays traced, and its next record starts a
// chunk of its own, named after the new program. The chunk it had counts
// as full, so that until it gets a new one (the buffer may be full) its
// drops and its exit flag go there. A task of a stopped tree lets go of
// the buffer here.
func (t *Task) Exec(comm string) {
	t.Comm = comm
	if !t.fol.on {
		return
	}
	if t.dropStale() {
		return
	}
	if t.fol.chunk != 0 {
		t.fol.used = t.buf.follow.chunk
	}
	t.fol.next |= abi.ChunkExec
}

// markExited flags t's last chunk, unless the tree was stopped.
func (t *Task) markExited() {
	if !t.fol.on || t.fol.chunk == 0 {
		return
	}
	fs := t.buf.follow
	fs.writing.RLock()
	defer fs.writing.RUnlock()
	if t.stale() {
		return
	}
	tag := &fs.words[t.fol.chunk+abi.ChunkTag]
	atomic.StoreUint64(tag, atomic.LoadUint64(tag)|uint64(abi.ChunkExited)<<40)
}

// writeFollow appends a record to t's chunk, carving a new chunk when it
// is full or t has none.
func (t *Task) writeFollow(k abi.Kind, pc, meta uint64, size uint32, ptr, offsets uint64, n uint32) {
	fs := t.buf.follow
	fs.writing.RLock()
	defer fs.writing.RUnlock()
	if t.stale() {
		return
	}
	t.inCallback = true
	defer func() { t.inCallback = false }()
	words := abi.RecordWords(int(n))
	room := fs.chunk - abi.ChunkHeaderWords
	b := &t.fol
	if b.chunk == 0 || b.used+words > room {
		if words > room {
			// It never fits: dropped, and counted in a chunk of the task
			// (carved for it if need be) so that the drop is attributed.
			if b.chunk == 0 {
				t.carve()
			}
			t.dropFollow()
			return
		}
		if !t.carve() {
			t.dropFollow()
			return
		}
	}
	t.seq++
	at := b.chunk + abi.ChunkHeaderWords + b.used
	t.fill(fs.words[at:at+words], k, pc, meta, size, ptr, offsets, n)
	b.used += words
	// Publish the chunk's count after the words, as area[0] in v1.
	atomic.StoreUint64(&fs.words[b.chunk+abi.ChunkUsed], uint64(b.used))
	if t.OnRecord != nil {
		t.OnRecord(at, words)
	}
}

func (t *Task) dropFollow() {
	fs := t.buf.follow
	fs.dropped.Add(1)
	if b := &t.fol; b.chunk != 0 {
		b.dropped++
		atomic.StoreUint64(&fs.words[b.chunk+abi.ChunkDropped], b.dropped)
	}
}

// carve takes the next free chunk for t: one atomic add on the bump
// pointer, then the header, its tag last.
func (t *Task) carve() bool {
	fs := t.buf.follow
	if fs.full.Load() {
		return false
	}
	slot := int(fs.carved.Add(1) - 1)
	if slot >= fs.slots {
		fs.full.Store(true)
		return false
	}
	b := &t.fol
	off := 1 + slot*fs.chunk
	w := fs.words[off : off+abi.ChunkHeaderWords]
	comm := abi.PackComm(t.Comm)
	w[abi.ChunkTid], w[abi.ChunkTgid], w[abi.ChunkPtid] = uint64(t.ID), uint64(t.Tgid), uint64(t.Ptid)
	w[abi.ChunkComm], w[abi.ChunkComm+1] = comm[0], comm[1]
	atomic.StoreUint64(&w[abi.ChunkTag], abi.ChunkTagWord(b.next, fs.chunk, b.ordinal))
	// area[0] counts the words of chunks whose header is written.
	atomic.AddUint64(&fs.words[0], uint64(fs.chunk))
	b.chunk, b.used, b.dropped = off, 0, 0
	b.ordinal++
	b.next = 0
	return true
}
