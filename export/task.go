package export

import (
	"encoding/binary"
	"hash/crc32"
	"hash/fnv"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
)

// Task is one traced task's calls, named and rendered.
type Task struct {
	// ID names the task in every table and track. It is derived from the
	// capture (its words' checksum, time and size), so the same trace
	// exported twice gets the same ID and a fleet's exports can be read
	// together.
	ID int64
	// Trace is the file the task came from, as given.
	Trace string
	// Meta is the capture's metadata; nil for a raw dump of the area.
	Meta *abi.Meta
	Tree *calls.Tree
	// Names renders the tree's values: names and types from the traced
	// kernel's symbols, or hex words without them.
	Names *calls.Namer
	// Summary is what the decoder learnt besides the records.
	Summary *abi.Summary
	// Thread is the task of a follow-mode trace these calls are of; nil
	// for a trace of one task (docs/follow.md).
	Thread *Thread
}

// Thread is one task of a follow-mode trace: a follow-mode trace gives a
// Task per task and per program the task ran (a call never spans an
// execve), all with the same Thread but Exec.
type Thread struct {
	// Tid, Tgid (its process) and Ptid (the task that created it) are
	// the ids of the root's pid namespace.
	Tid, Tgid, Ptid int
	// Comm is the task's name while it made these calls.
	Comm string
	// Exec counts the execve()s the task made before these calls.
	Exec int
	// Stream tells apart two streams of one tid within a trace (a tid
	// reused by a later tree): the task's index among the trace's.
	Stream int
	// Root is the task that enabled the mode; Exited tells that its
	// stream is complete.
	Root, Exited bool
	// Dropped is the records the task could not write (all of them
	// counted with its last program).
	Dropped uint64
}

// name is the task's name as the formats that want UTF-8 take it: a
// task's comm is whatever bytes the program set.
func (th *Thread) name() string { return strings.ToValidUTF8(th.Comm, "\uFFFD") }

// ThreadID derives the ID of a follow-mode trace's Task from the
// trace's ID (TaskID) and the task's stream and program.
func ThreadID(traceID int64, th *Thread) int64 {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range []uint64{uint64(traceID), uint64(th.Stream), uint64(th.Tid), uint64(th.Exec)} {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	id := int64(h.Sum64() &^ (1 << 63))
	if id == 0 {
		id = 1
	}
	return id
}

// NewTask decodes a trace's words into a task. names may be nil (values
// are then rendered as hex words).
func NewTask(trace string, tr *abi.Trace, opt abi.Options, names *calls.Namer) *Task {
	d := abi.NewDecoder(tr.Words, opt)
	t := &Task{Trace: trace, Names: names}
	if !tr.Raw {
		t.Meta = &tr.Meta
	}
	t.Tree = calls.Build(tr.Words, d, calls.Options{Full: t.Meta != nil && t.Meta.Overflowed})
	t.Summary = d.Summary()
	t.ID = TaskID(tr)
	if t.Names == nil {
		t.Names = &calls.Namer{}
	}
	return t
}

// TaskID derives a task's ID from its capture: positive, and the same
// for the same capture wherever it is exported.
func TaskID(tr *abi.Trace) int64 {
	h := fnv.New64a()
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	if tr.Raw {
		// No checksum stored: take the words' own.
		c := crc32.New(crc32.MakeTable(crc32.Castagnoli))
		buf := make([]byte, 0, 1<<16)
		for i, w := range tr.Words {
			buf = binary.LittleEndian.AppendUint64(buf, w)
			if len(buf) == cap(buf) || i == len(tr.Words)-1 {
				c.Write(buf)
				buf = buf[:0]
			}
		}
		put(uint64(c.Sum32()))
	} else {
		put(uint64(tr.Meta.CRC32C))
		put(uint64(tr.Meta.Captured.UnixNano()))
		for _, a := range tr.Meta.Command {
			h.Write([]byte(a))
			h.Write([]byte{0})
		}
	}
	put(uint64(len(tr.Words)))
	id := int64(h.Sum64() &^ (1 << 63))
	if id == 0 {
		id = 1
	}
	return id
}

// funcName is the name of call i's function, or its pc in hex.
func (t *Task) funcName(i int) string {
	pc := t.Tree.Calls[i].PC
	return t.Names.Func(pc).NameOr(pc)
}

// flagNames are the names of calls.Flags bits, lowest first.
var flagNames = []string{"no-return", "no-entry", "unsure", "errno"}

func flagList(f calls.Flags) []string {
	var out []string
	for bit, name := range flagNames {
		if f&(1<<bit) != 0 {
			out = append(out, name)
		}
	}
	return out
}
