package abi

// The follow mode's buffer (docs/follow.md): the mapping carved into
// fixed-size chunks, each owned by one task and holding a v1 area of its
// own, so that concurrent writers never share a word.

import (
	"fmt"
	"io"
	"math/bits"
	"sync/atomic"
)

// IoctlEnableFollow binds the calling task to the buffer in follow mode:
// its children and threads, transitively, are traced too, each into
// chunks of its own. The argument is the chunk size in words, a power of
// two (0: FollowDefaultChunk). A kernel without the mode answers ENOTTY.
var IoctlEnableFollow = ionone(ioctlType, 104)

// Chunk sizes, in words, that KCOV_DF_ENABLE_FOLLOW accepts.
const (
	FollowDefaultChunk = 1024
	FollowMinChunk     = 64
	FollowMaxChunk     = 1 << 20
)

// A chunk starts with ChunkHeaderWords words, at these indexes; its
// records follow. From ChunkUsed on, a chunk is a v1 area: a count, then
// records.
const (
	ChunkTag     = 0 // magic, flags, log2 of the chunk size, ordinal
	ChunkTid     = 1
	ChunkTgid    = 2
	ChunkPtid    = 3 // the task that created it (root: its parent)
	ChunkDropped = 4 // records the task dropped while this was its chunk
	ChunkComm    = 5 // 16 bytes, NUL-padded, in words 5 and 6
	ChunkUsed    = 7 // record words that follow, published after them

	ChunkHeaderWords = 8
)

// ChunkMagic marks a chunk tag (bits 48–63): "kf".
const ChunkMagic = 0x6b66

// ChunkFlag is a bit of a chunk tag (bits 40–47).
type ChunkFlag uint8

const (
	// ChunkFirst: the task's first chunk since it joined the tree.
	ChunkFirst ChunkFlag = 1 << iota
	// ChunkRoot: the task that called KCOV_DF_ENABLE_FOLLOW.
	ChunkRoot
	// ChunkExec: the chunk began after an execve; Comm is the new
	// program's name.
	ChunkExec
	// ChunkExited: the task exited with this chunk as its last: its
	// stream is complete.
	ChunkExited

	chunkFlagsKnown = ChunkFirst | ChunkRoot | ChunkExec | ChunkExited
)

func (f ChunkFlag) String() string {
	s := ""
	for i, name := range []string{"first", "root", "exec", "exited"} {
		if f&(1<<i) != 0 {
			if s != "" {
				s += ","
			}
			s += name
		}
	}
	return s
}

// ChunkTagWord builds a chunk tag.
func ChunkTagWord(flags ChunkFlag, chunkWords int, ordinal uint32) uint64 {
	return ChunkMagic<<48 | uint64(flags)<<40 | uint64(bits.TrailingZeros64(uint64(chunkWords)))<<32 | uint64(ordinal)
}

// ParseChunkTag splits a tag; ok is false when w is no valid tag.
func ParseChunkTag(w uint64) (flags ChunkFlag, chunkWords int, ordinal uint32, ok bool) {
	flags = ChunkFlag(w >> 40)
	shift := int(w >> 32 & 0xff)
	if w>>48 != ChunkMagic || flags&^chunkFlagsKnown != 0 || 1<<shift < FollowMinChunk || 1<<shift > FollowMaxChunk {
		return 0, 0, 0, false
	}
	return flags, 1 << shift, uint32(w), true
}

// ValidChunkWords tells whether KCOV_DF_ENABLE_FOLLOW accepts c for a
// buffer of n words: a power of two in [FollowMinChunk, FollowMaxChunk]
// with at least one chunk in the n − 1 words after area[0].
func ValidChunkWords(c, n uint64) bool {
	return c >= FollowMinChunk && c <= FollowMaxChunk && c&(c-1) == 0 && n > c
}

// PackComm stores a task name as the kernel keeps it: 16 bytes, NUL
// padded, little endian in two words.
func PackComm(name string) [2]uint64 {
	var b [16]byte
	copy(b[:15], name)
	var w [2]uint64
	for i := range 16 {
		w[i/8] |= uint64(b[i]) << (8 * (i % 8))
	}
	return w
}

func unpackComm(w0, w1 uint64) string {
	var b []byte
	for i := range 16 {
		c := byte([2]uint64{w0, w1}[i/8] >> (8 * (i % 8)))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// Chunk is one chunk of a follow-mode buffer as a reader found it.
type Chunk struct {
	Slot    int // index among the buffer's chunks
	Offset  int // word index of its tag in the area
	Flags   ChunkFlag
	Ordinal uint32
	Tid     int
	Tgid    int
	Ptid    int
	Comm    string
	Dropped uint64
	// Used is the chunk's published count of record words.
	Used uint64
}

// TaskStream is every record of one task, in the order it wrote them.
type TaskStream struct {
	Tid, Tgid, Ptid int
	// Comm is the name of the last chunk: the program after the last
	// exec.
	Comm string
	// Root: the task that enabled the mode. Exited: its stream is
	// complete (otherwise it was still running, or tracing stopped).
	Root, Exited bool
	Chunks       []Chunk
	// Records alias the area; Record.Offset is the area's word index.
	Records []Record
	// Dropped: records the task could not write, summed over its chunks.
	Dropped uint64
}

// FollowTrace is a follow-mode buffer decoded.
type FollowTrace struct {
	ChunkWords int
	// Slots is how many chunks the buffer holds, Carved how many carry
	// a tag.
	Slots, Carved int
	// Full: every chunk was handed out, so a task that needed one more
	// dropped records (counted in its last chunk).
	Full bool
	// Tasks in the order of their first chunk.
	Tasks []*TaskStream
	// Dropped sums the tasks' drops. GET_DROPPED's total may exceed it:
	// the difference is records of tasks that never got a chunk.
	Dropped   uint64
	Anomalies []Anomaly
}

// Task returns the stream of tid, or nil.
func (ft *FollowTrace) Task(tid int) *TaskStream {
	for _, t := range ft.Tasks {
		if t.Tid == tid {
			return t
		}
	}
	return nil
}

// FollowChunkWords finds the chunk size of a follow-mode area from its
// tags, or 0 when no chunk carries one.
func FollowChunkWords(area []uint64) int {
	if len(area) > 1 {
		if _, c, _, ok := ParseChunkTag(area[1]); ok {
			return c
		}
	}
	// The first chunk may still be being set up: try each size's second.
	for c := FollowMinChunk; c <= FollowMaxChunk && 1+c < len(area); c *= 2 {
		if _, cw, _, ok := ParseChunkTag(area[1+c]); ok && cw == c {
			return c
		}
	}
	return 0
}

// DecodeFollow decodes a follow-mode area: its chunks, grouped by task
// and ordered, each chunk's records decoded as a v1 area with opt (Table
// for exact lengths). It copies nothing: Records alias area. A reader
// racing the tasks passes the copy SnapshotFollow makes. It fails only
// when area has no chunk tag to take the chunk size from; on bad data it
// never does: what it cannot trust it reports as an anomaly and skips.
func DecodeFollow(area []uint64, opt Options) (*FollowTrace, error) {
	c := FollowChunkWords(area)
	if c == 0 {
		return nil, fmt.Errorf("no chunk tag in the %d-word area: not a follow-mode buffer, or nothing was recorded yet", len(area))
	}
	return DecodeFollowChunks(area, c, opt)
}

// DecodeFollowChunks is DecodeFollow for a reader that knows the chunk
// size, the one it enabled the mode with: an area in which no chunk was
// carved yet is then an empty trace.
func DecodeFollowChunks(area []uint64, chunkWords int, opt Options) (*FollowTrace, error) {
	c := chunkWords
	if !ValidChunkWords(uint64(c), uint64(len(area))) {
		return nil, fmt.Errorf("chunks of %d words in a %d-word area: want a power of two from %d to %d words, smaller than the area", c, len(area), FollowMinChunk, FollowMaxChunk)
	}
	ft := &FollowTrace{ChunkWords: c, Slots: (len(area) - 1) / c}
	note := func(kind AnomalyKind, off int, format string, args ...any) {
		if len(ft.Anomalies) < maxKeptAnomalies {
			ft.Anomalies = append(ft.Anomalies, Anomaly{Kind: kind, Offset: off, Detail: fmt.Sprintf(format, args...)})
		}
	}
	byTid := map[int]*TaskStream{}
	lastSeq := map[int]int64{}
	untagged := -1
	opt.Format = FormatV1
	// One decoder for every chunk: a Decoder is large, and what it learns
	// of v1 lengths holds for all chunks.
	var d *Decoder
	// Each task's records, at most one per 4 words it used: growing the
	// slices chunk by chunk instead cost more than decoding.
	most := map[uint64]int{}
	for off := 1; off+c <= len(area); off += c {
		if _, cw, _, ok := ParseChunkTag(area[off+ChunkTag]); ok && cw == c {
			most[area[off+ChunkTid]] += int(min(area[off+ChunkUsed], uint64(c-ChunkHeaderWords))) / RecordWords(0)
		}
	}
	for s := range ft.Slots {
		off := 1 + s*c
		w := area[off : off+c]
		if w[ChunkTag] == 0 {
			if untagged < 0 {
				untagged = s
			}
			continue
		}
		flags, cw, ord, ok := ParseChunkTag(w[ChunkTag])
		if !ok || cw != c {
			note(AnomalyUnknownType, off, "chunk %d: tag %#x is not a chunk tag of %d words", s, w[ChunkTag], c)
			continue
		}
		if untagged >= 0 {
			note(AnomalyUnattributed, 1+untagged*c, "chunk %d has no tag but chunk %d has: it was being set up, or the area was changed", untagged, s)
			untagged = -1
		}
		ft.Carved++
		ch := Chunk{Slot: s, Offset: off, Flags: flags, Ordinal: ord, Tid: int(w[ChunkTid]), Tgid: int(w[ChunkTgid]), Ptid: int(w[ChunkPtid]), Comm: unpackComm(w[ChunkComm], w[ChunkComm+1]), Dropped: w[ChunkDropped], Used: w[ChunkUsed]}
		ts := byTid[ch.Tid]
		switch {
		case ts == nil && flags&ChunkFirst == 0:
			note(AnomalySeqGap, off, "task %d starts with chunk ordinal %d, not its first", ch.Tid, ord)
		case flags&ChunkFirst != 0 && ord != 0:
			note(AnomalySeqGap, off, "task %d: a first chunk with ordinal %d", ch.Tid, ord)
			ts = nil
		case ts != nil && flags&ChunkFirst != 0:
			// The same tid joined again: a later tree (after DISABLE and
			// ENABLE) or a reused tid. Start a new stream.
			ts = nil
		case ts != nil && ord != ts.Chunks[len(ts.Chunks)-1].Ordinal+1:
			note(AnomalySeqGap, off, "task %d: chunk ordinal %d follows %d", ch.Tid, ord, ts.Chunks[len(ts.Chunks)-1].Ordinal)
		case ts != nil && ts.Exited:
			note(AnomalySeqGap, off, "task %d has a chunk after its exit", ch.Tid)
		}
		if ts == nil {
			ts = &TaskStream{Tid: ch.Tid, Tgid: ch.Tgid, Ptid: ch.Ptid, Root: flags&ChunkRoot != 0, Records: make([]Record, 0, most[w[ChunkTid]])}
			byTid[ch.Tid] = ts
			ft.Tasks = append(ft.Tasks, ts)
			lastSeq[ch.Tid] = -1
		}
		ts.Chunks = append(ts.Chunks, ch)
		ts.Comm = ch.Comm
		ts.Dropped += ch.Dropped
		ts.Exited = ts.Exited || flags&ChunkExited != 0
		ft.Dropped += ch.Dropped

		// From ChunkUsed on the chunk is a v1 area of c − 7 words.
		sub := w[ChunkUsed:]
		opt.BufferWords = len(sub)
		if d == nil {
			d = NewDecoder(sub, opt)
		} else {
			d.start(sub, opt)
		}
		for d.Next() {
			r := *d.Record()
			switch prev := lastSeq[ch.Tid]; {
			case prev >= 0 && r.Offset == 1 && uint32(prev+1)&SeqMask != r.Seq:
				note(AnomalySeqGap, off+ChunkUsed+r.Offset, "task %d: chunk %d starts at sequence %d after %d", ch.Tid, s, r.Seq, prev)
			case prev < 0 && ts.Chunks[0].Flags&ChunkFirst != 0 && r.Seq != 1:
				// A dropped record takes no number: a stream starts at 1.
				note(AnomalySeqGap, off+ChunkUsed+r.Offset, "task %d: its first record has sequence %d, not 1", ch.Tid, r.Seq)
			}
			lastSeq[ch.Tid] = int64(r.Seq)
			r.Offset += off + ChunkUsed
			ts.Records = append(ts.Records, r)
		}
		for _, a := range d.Summary().Anomalies {
			if a.Kind == AnomalyFull {
				continue // a chunk fills, then the task takes another
			}
			a.Offset += off + ChunkUsed
			a.Detail = fmt.Sprintf("task %d, chunk %d: %s", ch.Tid, s, a.Detail)
			if len(ft.Anomalies) < maxKeptAnomalies {
				ft.Anomalies = append(ft.Anomalies, a)
			}
		}
	}
	ft.Full = ft.Carved == ft.Slots
	if n := area[0]; n != uint64(ft.Carved*c) {
		note(AnomalyTornTail, 0, "area[0] = %d, but %d chunks of %d words carry a tag (%d words): a chunk was being set up, or area[0] was changed", n, ft.Carved, c, ft.Carved*c)
	}
	return ft, nil
}

// SnapshotFollow copies a follow-mode area that tasks may still be
// writing, the way docs/follow.md tells a reader to: each chunk's tag,
// then its count and drop counter, with acquire loads, and then only the
// record words that count covers, which are complete. A chunk whose tag
// is still 0 is copied as zeros. chunkWords is the size the reader
// enabled the mode with (0: FollowDefaultChunk): a live area cannot tell
// it without reading words that may be being written.
func SnapshotFollow(area []uint64, chunkWords int) []uint64 {
	out := make([]uint64, len(area))
	if len(area) < 2 {
		copy(out, area)
		return out
	}
	out[0] = atomic.LoadUint64(&area[0])
	c := chunkWords
	if c == 0 {
		c = FollowDefaultChunk
	}
	for off := 1; off+c <= len(area); off += c {
		tag := atomic.LoadUint64(&area[off+ChunkTag])
		if tag == 0 {
			continue
		}
		out[off+ChunkTag] = tag
		// Written once, before the tag.
		copy(out[off+ChunkTid:off+ChunkDropped], area[off+ChunkTid:off+ChunkDropped])
		copy(out[off+ChunkComm:off+ChunkUsed], area[off+ChunkComm:off+ChunkUsed])
		out[off+ChunkDropped] = atomic.LoadUint64(&area[off+ChunkDropped])
		used := atomic.LoadUint64(&area[off+ChunkUsed])
		out[off+ChunkUsed] = used
		n := min(used, uint64(c-ChunkHeaderWords))
		base := off + ChunkHeaderWords
		copy(out[base:base+int(n)], area[base:base+int(n)])
	}
	return out
}

// WriteText writes the trace as text: per task its identity, then its
// records, as "kcovdf decode" prints them, then the anomalies.
func (ft *FollowTrace) WriteText(w io.Writer) error {
	var err error
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	p("chunks of %d words: %d of %d carved, full %v; %d tasks, %d records dropped\n", ft.ChunkWords, ft.Carved, ft.Slots, ft.Full, len(ft.Tasks), ft.Dropped)
	for _, t := range ft.Tasks {
		state := "running or stopped"
		if t.Exited {
			state = "exited"
		}
		p("task %d (%s) process %d parent %d root %v: %d chunks, %d records, %d dropped, %s\n", t.Tid, t.Comm, t.Tgid, t.Ptid, t.Root, len(t.Chunks), len(t.Records), t.Dropped, state)
		for _, c := range t.Chunks {
			p("  chunk %d at word %d: ordinal %d, %q, flags [%s], %d words used, %d dropped\n", c.Slot, c.Offset, c.Ordinal, c.Comm, c.Flags, c.Used, c.Dropped)
		}
		for i := range t.Records {
			p("  %s\n", t.Records[i].String())
		}
	}
	for _, a := range ft.Anomalies {
		p("anomaly: %s\n", a)
	}
	return err
}
