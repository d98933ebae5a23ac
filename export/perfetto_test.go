package export_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/export"
	"google.golang.org/protobuf/encoding/protowire"
)

// A Perfetto trace decoded back with the published field numbers of
// protos/perfetto/trace/{trace,trace_packet}.proto and track_event/.
// Every field the writer may use is known here: anything else fails.

type pfPacket struct {
	ts, seq, flags uint64
	hasTS          bool
	track          *pfTrack
	ev             *pfEvent
}

type pfTrack struct {
	uuid, parent uint64
	name         string
	// A process's or a thread's track: pid, tid and name.
	process, thread bool
	pid, tid        uint64
	pname           string
}

type pfEvent struct {
	typ, track   uint64
	name         string
	anns         []pfAnn
	flows, terms []uint64
}

type pfAnn struct {
	name, str string
	boolean   *bool
	keys      []string
	vals      []string
}

// fields walks the fields of one message.
func fields(t *testing.T, b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, u uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType, protowire.Fixed64Type:
			var v uint64
			if typ == protowire.VarintType {
				v, n = protowire.ConsumeVarint(b)
			} else {
				v, n = protowire.ConsumeFixed64(b)
			}
			if n < 0 {
				t.Fatal(protowire.ParseError(n))
			}
			f(num, typ, nil, v)
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal(protowire.ParseError(n))
			}
			f(num, typ, v, 0)
			b = b[n:]
		default:
			t.Fatalf("field %d: wire type %d the writer never uses", num, typ)
		}
	}
}

func decodePerfetto(t *testing.T, data []byte) []pfPacket {
	var out []pfPacket
	fields(t, data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		if num != 1 || typ != protowire.BytesType { // Trace.packet
			t.Fatalf("Trace field %d", num)
		}
		var p pfPacket
		fields(t, v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) {
			switch num {
			case 8: // timestamp
				p.ts, p.hasTS = u, true
			case 10: // trusted_packet_sequence_id
				p.seq = u
			case 13: // sequence_flags
				p.flags = u
			case 60: // track_descriptor
				p.track = &pfTrack{}
				fields(t, v, func(num protowire.Number, _ protowire.Type, v []byte, u uint64) {
					switch num {
					case 1:
						p.track.uuid = u
					case 2:
						p.track.name = string(v)
					case 5:
						p.track.parent = u
					case 3, 4: // process, thread
						p.track.process, p.track.thread = num == 3, num == 4
						fields(t, v, func(n protowire.Number, _ protowire.Type, v []byte, u uint64) {
							switch {
							case n == 1:
								p.track.pid = u
							case n == 2 && num == 4:
								p.track.tid = u
							case n == 6 && num == 3, n == 5 && num == 4:
								p.track.pname = string(v)
							default:
								t.Fatalf("descriptor %d field %d", num, n)
							}
						})
					default:
						t.Fatalf("TrackDescriptor field %d", num)
					}
				})
			case 11: // track_event
				p.ev = decodeEvent(t, v)
			default:
				t.Fatalf("TracePacket field %d", num)
			}
		})
		out = append(out, p)
	})
	return out
}

func decodeEvent(t *testing.T, b []byte) *pfEvent {
	e := &pfEvent{}
	fields(t, b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) {
		switch num {
		case 9:
			e.typ = u
		case 11:
			e.track = u
		case 23:
			e.name = string(v)
		case 47:
			e.flows = append(e.flows, u)
		case 48:
			e.terms = append(e.terms, u)
		case 4: // debug_annotations
			var a pfAnn
			fields(t, v, func(num protowire.Number, _ protowire.Type, v []byte, u uint64) {
				switch num {
				case 10:
					a.name = string(v)
				case 6:
					a.str = string(v)
				case 2:
					bv := u != 0
					a.boolean = &bv
				case 8: // nested_value
					fields(t, v, func(num protowire.Number, _ protowire.Type, v []byte, u uint64) {
						switch num {
						case 1:
							if u != 1 {
								t.Fatalf("nested type %d, want DICT", u)
							}
						case 2:
							a.keys = append(a.keys, string(v))
						case 3:
							fields(t, v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) {
								if num != 8 {
									t.Fatalf("NestedValue leaf field %d", num)
								}
								a.vals = append(a.vals, string(v))
							})
						default:
							t.Fatalf("NestedValue field %d", num)
						}
					})
				default:
					t.Fatalf("DebugAnnotation field %d", num)
				}
			})
			e.anns = append(e.anns, a)
		default:
			t.Fatalf("TrackEvent field %d", num)
		}
	})
	return e
}

// annText is what an annotation holds, in the form calls renders it.
func annText(a pfAnn) string {
	if a.keys == nil {
		return a.str
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range a.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%s", a.keys[i], a.vals[i])
	}
	b.WriteByte('}')
	return b.String()
}

func TestPerfettoDecoded(t *testing.T) {
	a := simTask(t, 3, 4096)
	tasks := []*export.Task{a, simTask(t, 7, 8192), a} // a trace given twice gets a track of its own
	var buf bytes.Buffer
	if err := export.WritePerfetto(&buf, tasks); err != nil {
		t.Fatal(err)
	}
	packets := decodePerfetto(t, buf.Bytes())
	tracks := map[uint64]int{} // uuid → task
	type open struct {
		call  int
		begin uint64
	}
	stacks := map[uint64][]open{}
	next := map[uint64]int{} // track → next call expected
	lastTS := map[uint64]uint64{}
	flowSrc := map[uint64]int{} // flow id → packet index of its begin
	flowDst := map[uint64]int{}
	firstOnSeq := map[uint64]bool{}
	for pi, p := range packets {
		if !firstOnSeq[p.seq] {
			if p.flags != 1 {
				t.Fatalf("packet %d: first on sequence %d without SEQ_INCREMENTAL_STATE_CLEARED", pi, p.seq)
			}
			firstOnSeq[p.seq] = true
		}
		if p.track != nil {
			k := len(tracks)
			want := uint64(tasks[k].ID)
			for _, e := range tasks[:k] {
				if e.ID == tasks[k].ID {
					want++ // the same trace again
				}
			}
			if p.track.uuid != want || p.seq != uint64(k+1) {
				t.Fatalf("track %d: %+v on sequence %d", k, p.track, p.seq)
			}
			tracks[p.track.uuid] = k
			continue
		}
		e := p.ev
		k, ok := tracks[e.track]
		if !ok || !p.hasTS {
			t.Fatalf("packet %d: event on unknown track %d or without time", pi, e.track)
		}
		task := tasks[k]
		if p.ts <= lastTS[e.track] {
			t.Fatalf("packet %d: time %d after %d", pi, p.ts, lastTS[e.track])
		}
		lastTS[e.track] = p.ts
		st := stacks[e.track]
		switch e.typ {
		case 1: // slice begin
			i := next[e.track]
			next[e.track]++
			c := task.Tree.Calls[i]
			if e.name != task.Names.Func(c.PC).NameOr(c.PC) || len(st) != int(c.Depth) || (len(st) > 0 && st[len(st)-1].call != int(c.Parent)) {
				t.Fatalf("task %d call %d: begin %q at depth %d", k, i, e.name, len(st))
			}
			if i == 0 && p.ts != uint64(c.Seq) {
				t.Errorf("task %d: the first call begins at %d, not at its sequence number %d", k, p.ts, c.Seq)
			}
			args := task.Names.Args(task.Tree, i)
			if len(e.anns) != len(args) {
				t.Fatalf("task %d call %d: %d annotations for %d arguments", k, i, len(e.anns), len(args))
			}
			for j, a := range args {
				if e.anns[j].name != a.Name || annText(e.anns[j]) != a.Text || (len(a.Fields) > 0) != (e.anns[j].keys != nil) {
					t.Fatalf("task %d call %d: annotation %+v for %+v", k, i, e.anns[j], a)
				}
			}
			for _, id := range e.flows {
				if _, dup := flowSrc[id]; dup {
					t.Fatalf("flow %d leaves twice", id)
				}
				flowSrc[id] = i
			}
			for _, id := range e.terms {
				flowDst[id] = i
			}
			stacks[e.track] = append(st, open{i, p.ts})
		case 2: // slice end
			if len(st) == 0 {
				t.Fatalf("packet %d: end without begin", pi)
			}
			i := st[len(st)-1].call
			stacks[e.track] = st[:len(st)-1]
			c := task.Tree.Calls[i]
			if e.name != "" || len(e.flows)+len(e.terms) > 0 {
				t.Fatalf("task %d call %d: end with a name or flows", k, i)
			}
			want := map[string]string{}
			if r, ok := task.Names.Ret(task.Tree, i); ok {
				want["return"] = r.Text
				if r.Errno != 0 {
					want["errno"] = calls.ErrnoName(r.Errno)
				}
			}
			got := map[string]string{}
			for _, a := range e.anns {
				if a.boolean != nil {
					if a.name != "no_return" || !*a.boolean || c.Flags&calls.NoReturn == 0 {
						t.Fatalf("task %d call %d: %+v", k, i, a)
					}
					continue
				}
				got[a.name] = annText(a)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("task %d call %d: end annotations %v, want %v", k, i, got, want)
			}
		default:
			t.Fatalf("packet %d: event type %d", pi, e.typ)
		}
	}
	flows := 0
	for uuid, k := range tracks {
		task := tasks[k]
		if next[uuid] != len(task.Tree.Calls) || len(stacks[uuid]) != 0 {
			t.Fatalf("task %d: %d of %d calls begun, %d left open", k, next[uuid], len(task.Tree.Calls), len(stacks[uuid]))
		}
		flows += len(task.Flows())
	}
	if len(tracks) != len(tasks) || len(flowSrc) != flows || len(flowDst) != flows || flows == 0 {
		t.Fatalf("%d tracks; flows: %d leave, %d end, want %d", len(tracks), len(flowSrc), len(flowDst), flows)
	}
	for id, from := range flowSrc {
		if to, ok := flowDst[id]; !ok || to <= from {
			t.Fatalf("flow %d from call %d ends at %d", id, from, to)
		}
	}
	t.Logf("%d packets, %d bytes, %d flows", len(packets), buf.Len(), flows)
}

// The tasks of a follow-mode trace are processes and threads with their
// real ids: a process track per process, a thread track per task, and the
// calls after an execve on a track under the thread's.
func TestPerfettoThreads(t *testing.T) {
	thread := func(seed uint64, th export.Thread) *export.Task {
		task := simTask(t, seed, 2048)
		task.Trace, task.Thread = "f.kdf", &th
		task.ID = export.ThreadID(42, &th)
		return task
	}
	tasks := []*export.Task{
		thread(3, export.Thread{Tid: 100, Tgid: 100, Ptid: 1, Comm: "sh", Root: true}),
		thread(7, export.Thread{Tid: 101, Tgid: 101, Ptid: 100, Comm: "sh", Stream: 1}),
		thread(5, export.Thread{Tid: 101, Tgid: 101, Ptid: 100, Comm: "ls", Exec: 1, Stream: 1}),
		thread(9, export.Thread{Tid: 102, Tgid: 101, Ptid: 101, Comm: "ls", Stream: 2}),
	}
	var buf bytes.Buffer
	if err := export.WritePerfetto(&buf, tasks); err != nil {
		t.Fatal(err)
	}
	var got []string
	begins := map[uint64]int{}
	uuids := map[uint64]string{}
	for _, p := range decodePerfetto(t, buf.Bytes()) {
		switch tr := p.track; {
		case tr != nil && tr.process:
			uuids[tr.uuid] = fmt.Sprintf("process %d", tr.pid)
			got = append(got, fmt.Sprintf("seq %d: process %d %q", p.seq, tr.pid, tr.pname))
		case tr != nil && tr.thread:
			uuids[tr.uuid] = fmt.Sprintf("thread %d", tr.tid)
			got = append(got, fmt.Sprintf("seq %d: thread %d of %d %q", p.seq, tr.tid, tr.pid, tr.pname))
		case tr != nil:
			uuids[tr.uuid] = tr.name
			got = append(got, fmt.Sprintf("seq %d: track %q under %s", p.seq, tr.name, uuids[tr.parent]))
		case p.ev.typ == 1:
			begins[p.ev.track]++
		}
	}
	want := []string{
		`seq 1: process 100 "sh"`,
		`seq 1: thread 100 of 100 "sh"`,
		`seq 2: process 101 "ls"`, // its main thread's last name
		`seq 2: thread 101 of 101 "sh"`,
		`seq 3: track "ls after execve 1" under thread 101`,
		`seq 4: thread 102 of 101 "ls"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("tracks:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for k, task := range tasks {
		if n := begins[uint64(task.ID)]; n != len(task.Tree.Calls) || n == 0 {
			t.Errorf("task %d: %d slices on its track %q, want %d", k, n, uuids[uint64(task.ID)], len(task.Tree.Calls))
		}
	}
}
