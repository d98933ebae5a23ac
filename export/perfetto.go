package export

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kcovdf/kcovdf/calls"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of Perfetto's trace protos (protos/perfetto/trace/ in the
// Perfetto source: trace.proto, trace_packet.proto and track_event/*.proto).
const (
	tracePacket = 1 // Trace.packet

	packetTimestamp     = 8  // TracePacket.timestamp
	packetSequenceID    = 10 // TracePacket.trusted_packet_sequence_id
	packetTrackEvent    = 11 // TracePacket.track_event
	packetSequenceFlags = 13 // TracePacket.sequence_flags
	packetTrackDesc     = 60 // TracePacket.track_descriptor

	seqIncrementalStateCleared = 1 // TracePacket.SequenceFlags

	trackDescUUID    = 1 // TrackDescriptor.uuid
	trackDescName    = 2 // TrackDescriptor.name
	trackDescProcess = 3 // TrackDescriptor.process
	trackDescThread  = 4 // TrackDescriptor.thread
	trackDescParent  = 5 // TrackDescriptor.parent_uuid

	// ProcessDescriptor.pid and ThreadDescriptor.pid are 1,
	// ThreadDescriptor.tid 2 (appendEntity).
	processName = 6 // ProcessDescriptor.process_name
	threadName  = 5 // ThreadDescriptor.thread_name

	eventAnnotations  = 4  // TrackEvent.debug_annotations
	eventType         = 9  // TrackEvent.type
	eventTrackUUID    = 11 // TrackEvent.track_uuid
	eventName         = 23 // TrackEvent.name
	eventFlowIDs      = 47 // TrackEvent.flow_ids (fixed64)
	eventTerminateIDs = 48 // TrackEvent.terminating_flow_ids (fixed64)

	typeSliceBegin = 1 // TrackEvent.Type
	typeSliceEnd   = 2

	annName        = 10 // DebugAnnotation.name
	annBool        = 2  // DebugAnnotation.bool_value
	annString      = 6  // DebugAnnotation.string_value
	annNested      = 8  // DebugAnnotation.nested_value
	nestedType     = 1  // NestedValue.nested_type
	nestedDictKeys = 2  // NestedValue.dict_keys
	nestedDictVals = 3  // NestedValue.dict_values
	nestedString   = 8  // NestedValue.string_value
	nestedDict     = 1  // NestedValue.NestedType DICT
)

// WritePerfetto writes the tasks as a Perfetto trace: a track per task
// and a slice per call, nested as the calls were. Perfetto needs times and
// the trace has none: a call begins at the sequence number of its first
// record and ends at that of its return record (computed from the
// records in between when it has none), read as nanoseconds; each task's
// clock is its own. A call's arguments are debug annotations of its
// slice, struct fields as nested entries; its return value (and errno)
// annotate the slice's end. Value flows (see Task.Flows) are Perfetto
// flows from the returning call to the call the value was passed to.
//
// The tasks of a follow-mode trace (Task.Thread) are Perfetto's processes
// and threads, with their real pids, tids and names: a process track per
// process of the trace, a thread track per task under its process, and
// the calls a task made after an execve on a track of their own under
// the thread's. Each task's clock is its own sequence numbers there too.
// Each (trace, process) has a track of its own: two traces that share a
// pid keep it apart in the file.
func WritePerfetto(w io.Writer, tasks []*Task) error {
	pw := &perfettoWriter{w: bufio.NewWriterSize(w, 1<<16)}
	flowID := uint64(0)
	used := map[uint64]bool{}
	unused := func(uuid uint64) uint64 {
		for used[uuid] || uuid == 0 {
			uuid++
		}
		used[uuid] = true
		return uuid
	}
	tracks := newThreadTracks(tasks)
	for k, t := range tasks {
		seq := uint64(k + 1)
		// The task ID, unless the same trace came twice.
		uuid := unused(uint64(t.ID))
		if t.Thread != nil {
			tracks.describe(pw, seq, t, uuid, unused)
		} else {
			pw.packet(seq, true, 0, func(b []byte) []byte {
				d := protowire.AppendTag(nil, trackDescUUID, protowire.VarintType)
				d = protowire.AppendVarint(d, uuid)
				d = protowire.AppendTag(d, trackDescName, protowire.BytesType)
				d = protowire.AppendString(d, t.trackName(k))
				b = protowire.AppendTag(b, packetTrackDesc, protowire.BytesType)
				return protowire.AppendBytes(b, d)
			})
		}
		flows := t.Flows()
		// Each flow leaves its From call's begin and ends at its To
		// call's: the value was returned in between.
		out := slices.Clone(flows)
		slices.SortStableFunc(out, func(a, b Flow) int { return int(a.From) - int(b.From) })
		ids := make(map[[2]int32]uint64, len(flows))
		for _, f := range flows {
			flowID++
			ids[[2]int32{f.From, f.To}] = flowID
		}
		ts := t.times()
		var stack []int
		nextOut, nextIn := 0, 0
		end := func(i int) {
			r, hasRet := t.Names.Ret(t.Tree, i)
			noRet := t.Tree.Calls[i].Flags&calls.NoReturn != 0
			pw.event(seq, ts.end[i], uuid, typeSliceEnd, "", func(e []byte) []byte {
				if hasRet {
					e = appendAnnotation(e, "return", &r)
					if r.Errno != 0 {
						e = appendStringAnnotation(e, "errno", calls.ErrnoName(r.Errno))
					}
				}
				if noRet {
					e = protowire.AppendTag(e, eventAnnotations, protowire.BytesType)
					a := protowire.AppendTag(nil, annName, protowire.BytesType)
					a = protowire.AppendString(a, "no_return")
					a = protowire.AppendTag(a, annBool, protowire.VarintType)
					a = protowire.AppendVarint(a, 1)
					e = protowire.AppendBytes(e, a)
				}
				return e
			})
		}
		for i := range t.Tree.Calls {
			for len(stack) > 0 && int(t.Tree.Calls[stack[len(stack)-1]].End) <= i {
				end(stack[len(stack)-1])
				stack = stack[:len(stack)-1]
			}
			args := t.Names.Args(t.Tree, i)
			pw.event(seq, ts.begin[i], uuid, typeSliceBegin, t.funcName(i), func(e []byte) []byte {
				for a := range args {
					e = appendAnnotation(e, args[a].Name, &args[a])
				}
				for ; nextOut < len(out) && int(out[nextOut].From) == i; nextOut++ {
					e = protowire.AppendTag(e, eventFlowIDs, protowire.Fixed64Type)
					e = protowire.AppendFixed64(e, ids[[2]int32{out[nextOut].From, out[nextOut].To}])
				}
				for ; nextIn < len(flows) && int(flows[nextIn].To) == i; nextIn++ {
					e = protowire.AppendTag(e, eventTerminateIDs, protowire.Fixed64Type)
					e = protowire.AppendFixed64(e, ids[[2]int32{flows[nextIn].From, flows[nextIn].To}])
				}
				return e
			})
			stack = append(stack, i)
		}
		for len(stack) > 0 {
			end(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
		}
		if pw.err != nil {
			return pw.err
		}
	}
	if pw.err != nil {
		return pw.err
	}
	return pw.w.Flush()
}

// threadTracks are the process and thread tracks of the follow-mode
// traces' tasks, described once each.
type threadTracks struct {
	process map[processKey]uint64 // described, with their uuids
	names   map[processKey]string
	threads map[threadKey]uint64
}

type processKey struct {
	trace string
	tgid  int
}

type threadKey struct {
	trace  string
	stream int
}

// newThreadTracks names each process after its main thread (the task
// whose tid is the process's), as it was last named, else after its
// first task.
func newThreadTracks(tasks []*Task) *threadTracks {
	tt := &threadTracks{process: map[processKey]uint64{}, names: map[processKey]string{}, threads: map[threadKey]uint64{}}
	for _, t := range tasks {
		if th := t.Thread; th != nil {
			k := processKey{t.Trace, th.Tgid}
			if _, ok := tt.names[k]; !ok || th.Tid == th.Tgid {
				tt.names[k] = th.name()
			}
		}
	}
	return tt
}

// describe writes the track descriptors task t's calls need, as the
// first packets of its sequence: its process's and its thread's when
// not yet written, and for the calls after an execve a track under the
// thread's. uuid is the track the calls go on.
func (tt *threadTracks) describe(pw *perfettoWriter, seq uint64, t *Task, uuid uint64, unused func(uint64) uint64) {
	th := t.Thread
	first := true
	desc := func(fill func(d []byte) []byte) {
		pw.packet(seq, first, 0, func(b []byte) []byte {
			b = protowire.AppendTag(b, packetTrackDesc, protowire.BytesType)
			return protowire.AppendBytes(b, fill(nil))
		})
		first = false
	}
	pk := processKey{t.Trace, th.Tgid}
	if _, ok := tt.process[pk]; !ok {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00process %d", t.Trace, th.Tgid)
		pu := unused(h.Sum64())
		tt.process[pk] = pu
		desc(func(d []byte) []byte {
			return appendEntity(d, pu, trackDescProcess, processName, tt.names[pk], th.Tgid)
		})
	}
	tk := threadKey{t.Trace, th.Stream}
	thread, ok := tt.threads[tk]
	if !ok {
		thread = uuid
		if th.Exec > 0 {
			h := fnv.New64a()
			fmt.Fprintf(h, "%s\x00thread %d %d", t.Trace, th.Stream, th.Tid)
			thread = unused(h.Sum64())
		}
		tt.threads[tk] = thread
		desc(func(d []byte) []byte {
			return appendEntity(d, thread, trackDescThread, threadName, th.name(), th.Tgid, th.Tid)
		})
	}
	if thread == uuid {
		return
	}
	desc(func(d []byte) []byte {
		d = protowire.AppendTag(d, trackDescUUID, protowire.VarintType)
		d = protowire.AppendVarint(d, uuid)
		d = protowire.AppendTag(d, trackDescParent, protowire.VarintType)
		d = protowire.AppendVarint(d, thread)
		d = protowire.AppendTag(d, trackDescName, protowire.BytesType)
		return protowire.AppendString(d, fmt.Sprintf("%s after execve %d", th.name(), th.Exec))
	})
}

// appendEntity adds the uuid of a process's or a thread's track and its
// descriptor (field: TrackDescriptor.process or .thread): the ids in
// order (pid; pid then tid) and its name in field nameField.
func appendEntity(d []byte, uuid uint64, field, nameField protowire.Number, name string, ids ...int) []byte {
	d = protowire.AppendTag(d, trackDescUUID, protowire.VarintType)
	d = protowire.AppendVarint(d, uuid)
	var p []byte
	for i, id := range ids {
		p = protowire.AppendTag(p, protowire.Number(i+1), protowire.VarintType) // pid = 1, tid = 2
		p = protowire.AppendVarint(p, uint64(id))
	}
	p = protowire.AppendTag(p, nameField, protowire.BytesType)
	p = protowire.AppendString(p, name)
	d = protowire.AppendTag(d, field, protowire.BytesType)
	return protowire.AppendBytes(d, p)
}

// trackName names task k's track: its command and file.
func (t *Task) trackName(k int) string {
	name := fmt.Sprintf("task %d", k)
	if t.Meta != nil && len(t.Meta.Command) > 0 {
		name += ": " + strings.Join(t.Meta.Command, " ")
	}
	return name + " (" + filepath.Base(t.Trace) + ")"
}

// perfettoWriter writes Trace.packet entries, reusing its buffers.
type perfettoWriter struct {
	w       *bufio.Writer
	pkt, ev []byte
	err     error
}

// packet writes one TracePacket on sequence seq; first marks the first
// packet of the sequence, fill adds its payload.
func (p *perfettoWriter) packet(seq uint64, first bool, ts uint64, fill func([]byte) []byte) {
	b := p.pkt[:0]
	if ts > 0 {
		b = protowire.AppendTag(b, packetTimestamp, protowire.VarintType)
		b = protowire.AppendVarint(b, ts)
	}
	b = protowire.AppendTag(b, packetSequenceID, protowire.VarintType)
	b = protowire.AppendVarint(b, seq)
	if first {
		b = protowire.AppendTag(b, packetSequenceFlags, protowire.VarintType)
		b = protowire.AppendVarint(b, seqIncrementalStateCleared)
	}
	b = fill(b)
	p.pkt = b
	var hdr [16]byte
	h := protowire.AppendTag(hdr[:0], tracePacket, protowire.BytesType)
	h = protowire.AppendVarint(h, uint64(len(b)))
	if _, err := p.w.Write(h); err != nil && p.err == nil {
		p.err = err
	}
	if _, err := p.w.Write(b); err != nil && p.err == nil {
		p.err = err
	}
}

// event writes a TrackEvent packet; fill adds annotations and flows.
func (p *perfettoWriter) event(seq, ts, track uint64, typ uint64, name string, fill func([]byte) []byte) {
	e := p.ev[:0]
	e = protowire.AppendTag(e, eventType, protowire.VarintType)
	e = protowire.AppendVarint(e, typ)
	e = protowire.AppendTag(e, eventTrackUUID, protowire.VarintType)
	e = protowire.AppendVarint(e, track)
	if name != "" {
		e = protowire.AppendTag(e, eventName, protowire.BytesType)
		e = protowire.AppendString(e, name)
	}
	e = fill(e)
	p.ev = e
	p.packet(seq, false, ts, func(b []byte) []byte {
		b = protowire.AppendTag(b, packetTrackEvent, protowire.BytesType)
		return protowire.AppendBytes(b, e)
	})
}

// appendAnnotation adds a DebugAnnotation for a rendered value: its text,
// or a dictionary of its fields' texts.
func appendAnnotation(e []byte, name string, r *calls.Rendered) []byte {
	if len(r.Fields) == 0 {
		return appendStringAnnotation(e, name, r.Text)
	}
	var n []byte
	n = protowire.AppendTag(n, nestedType, protowire.VarintType)
	n = protowire.AppendVarint(n, nestedDict)
	for _, f := range r.Fields {
		n = protowire.AppendTag(n, nestedDictKeys, protowire.BytesType)
		n = protowire.AppendString(n, f.Name)
	}
	var leaf []byte
	for _, f := range r.Fields {
		leaf = protowire.AppendTag(leaf[:0], nestedString, protowire.BytesType)
		leaf = protowire.AppendString(leaf, f.Text)
		n = protowire.AppendTag(n, nestedDictVals, protowire.BytesType)
		n = protowire.AppendBytes(n, leaf)
	}
	a := protowire.AppendTag(nil, annName, protowire.BytesType)
	a = protowire.AppendString(a, name)
	a = protowire.AppendTag(a, annNested, protowire.BytesType)
	a = protowire.AppendBytes(a, n)
	e = protowire.AppendTag(e, eventAnnotations, protowire.BytesType)
	return protowire.AppendBytes(e, a)
}

func appendStringAnnotation(e []byte, name, text string) []byte {
	e = protowire.AppendTag(e, eventAnnotations, protowire.BytesType)
	e = protowire.AppendVarint(e, uint64(protowire.SizeTag(annName)+protowire.SizeBytes(len(name))+protowire.SizeTag(annString)+protowire.SizeBytes(len(text))))
	e = protowire.AppendTag(e, annName, protowire.BytesType)
	e = protowire.AppendString(e, name)
	e = protowire.AppendTag(e, annString, protowire.BytesType)
	return protowire.AppendString(e, text)
}

// sliceTimes are the synthesised times of a task's calls.
type sliceTimes struct{ begin, end []uint64 }

// times gives each call a begin and an end on the task's clock: sequence
// numbers (unwrapped past 2^32). A call begins at its first record and
// ends one after the last record of its entry or its callees, which is
// its return record's number when no record was lost. Times only rise,
// one per event at least, so that nesting survives any damage.
func (t *Task) times() sliceTimes {
	cs := t.Tree.Calls
	n := len(cs)
	st := sliceTimes{begin: make([]uint64, n), end: make([]uint64, n)}
	var epoch, prev uint64
	for i := range cs {
		s := uint64(cs[i].Seq)
		if s+epoch+1<<31 < prev {
			epoch += 1 << 32
		}
		st.begin[i] = s + epoch
		prev = st.begin[i]
	}
	// Ends, callees first (entry order reversed).
	last := make([]uint64, n)
	for i := n - 1; i >= 0; i-- {
		recs := uint64(len(t.Tree.Args(i)))
		if recs == 0 {
			recs = 1 // seen by its return only
		}
		e := max(st.begin[i]+recs-1, last[i]) + 1
		st.end[i] = e
		if p := cs[i].Parent; p >= 0 {
			last[p] = max(last[p], e)
		}
	}
	// Rising, one tick per event, in the order the events are written.
	var now uint64
	tick := func(v uint64) uint64 {
		if v <= now {
			v = now + 1
		}
		now = v
		return v
	}
	var stack []int
	for i := range cs {
		for len(stack) > 0 && int(cs[stack[len(stack)-1]].End) <= i {
			k := stack[len(stack)-1]
			st.end[k] = tick(st.end[k])
			stack = stack[:len(stack)-1]
		}
		st.begin[i] = tick(st.begin[i])
		stack = append(stack, i)
	}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		st.end[k] = tick(st.end[k])
		stack = stack[:len(stack)-1]
	}
	return st
}
