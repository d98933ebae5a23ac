package main

// Follow-mode traces (docs/follow.md): the words are per-task chunks,
// decoded into one stream per task; stats, show and decode work on the
// streams, all of them or those --task selects.

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/spf13/cobra"
)

const taskUsage = "only the task with this tid or name (a follow-mode trace; names match the task's last or any earlier name)"

func registerTask(cmd *cobra.Command, task *string) {
	cmd.Flags().StringVar(task, "task", "", taskUsage)
}

// followed is a follow-mode trace decoded, and the tasks to show.
type followed struct {
	ft    *abi.FollowTrace
	tasks []*abi.TaskStream
}

// follow decodes a follow-mode trace into its streams and picks the
// tasks --task names; nil for any other trace, where --task is an error.
func (in *input) follow(path, task string) (*followed, error) {
	fm := in.trace.Meta.Follow
	if in.trace.Raw || fm == nil {
		if task != "" {
			return nil, &oneTaskError{fmt.Errorf("--task %s: %s holds one task's records, not a follow-mode capture (record it with --follow)", task, path)}
		}
		return nil, nil
	}
	ft, err := decodeFollowTrace(in.trace, in.opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := &followed{ft: ft, tasks: ft.Tasks}
	if task == "" {
		return f, nil
	}
	f.tasks = nil
	tid, numeric := strconv.Atoi(task)
	for _, t := range ft.Tasks {
		if numeric == nil && t.Tid == tid || slices.ContainsFunc(t.Chunks, func(c abi.Chunk) bool { return c.Comm == task }) {
			f.tasks = append(f.tasks, t)
		}
	}
	if len(f.tasks) == 0 {
		var have []string
		for _, t := range ft.Tasks {
			have = append(have, fmt.Sprintf("%d (%s)", t.Tid, t.Comm))
		}
		return nil, fmt.Errorf("--task %s: no such task in %s; it has %s", task, path, strings.Join(have, ", "))
	}
	return f, nil
}

// decodeFollowTrace decodes the streams of a follow-mode trace with opt.
// A file shorter than its buffer (cut short, or stored up to its last
// chunk, as record does) keeps its chunks in place: the missing words
// read as zeros, chunks never taken, and the chunk a cut went through
// gives its records before the cut and an anomaly after.
func decodeFollowTrace(tr *abi.Trace, opt abi.Options) (*abi.FollowTrace, error) {
	opt.Format = abi.FormatV1
	// The calls read their words from the area: keep the padded one.
	tr.Words = tr.FollowArea()
	ft, err := abi.DecodeFollowChunks(tr.Words, tr.Meta.Follow.ChunkWords, opt)
	if err != nil {
		return nil, fmt.Errorf("follow-mode trace: %w (the file's \"follow\" metadata is damaged)", err)
	}
	return ft, nil
}

// writeFollowRecorded sums up a follow-mode capture as record and lab
// trace print it: the tasks, records, drops and chunks on one line, then
// a row per task.
func writeFollowRecorded(w io.Writer, prefix string, ft *abi.FollowTrace, m abi.Meta) error {
	dropped := fmt.Sprintf("%d", ft.Dropped)
	if m.Dropped != nil {
		dropped = fmt.Sprint(*m.Dropped)
	}
	records := 0
	for _, t := range ft.Tasks {
		records += len(t.Records)
	}
	fmt.Fprintf(w, "%s%d tasks, %d records, %s records dropped; %d of %d chunks of %d words (follow mode)", prefix, len(ft.Tasks), records, dropped, ft.Carved, ft.Slots, ft.ChunkWords)
	if n := len(ft.Anomalies); n > 0 {
		fmt.Fprintf(w, ", %d anomalies", n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	writeTaskRows(tw, ft.Tasks)
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case m.Overflowed && ft.Full:
		_, err := fmt.Fprintf(w, "note: every chunk was taken and %s records were dropped: record with more --words\n", dropped)
		return err
	case m.Overflowed:
		// Chunks were left: the drops were records longer than a chunk.
		_, err := fmt.Fprintf(w, "note: %s records were dropped with chunks left: records longer than a chunk's %d record words; record with more --chunk-words\n", dropped, ft.ChunkWords-abi.ChunkHeaderWords)
		return err
	}
	return nil
}

// oneTaskError is --task given for a trace of one task.
type oneTaskError struct{ error }

func (e *oneTaskError) Unwrap() error { return e.error }

// summary is what decoding found in one task's chunks: its records by
// kind and the anomalies that lie in them.
func (f *followed) summary(t *abi.TaskStream) *abi.Summary {
	return f.summaryOf(t.Chunks, t.Records, t.Dropped)
}

// summaryOf is summary for some of a task's chunks and their records.
func (f *followed) summaryOf(chunks []abi.Chunk, records []abi.Record, dropped uint64) *abi.Summary {
	s := &abi.Summary{Format: abi.FormatV1, Records: len(records), Full: f.ft.Full && dropped > 0}
	for i := range records {
		s.ByKind[records[i].Kind]++
	}
	c := f.ft.ChunkWords
	for _, a := range f.ft.Anomalies {
		if a.Offset > 0 && slices.ContainsFunc(chunks, func(ch abi.Chunk) bool { return a.Offset >= ch.Offset && a.Offset < ch.Offset+c }) {
			s.AnomalyCounts[a.Kind]++
			s.Anomalies = append(s.Anomalies, a)
		}
	}
	return s
}

// taskPart is what one task recorded under one program: the unit every
// per-task analysis builds its calls from, since a call never spans two
// tasks or an execve.
type taskPart struct {
	task *abi.TaskStream
	// stream is the task's index in the trace's streams (a tid may come
	// back as a new stream); seg its program, 0 until its first execve.
	stream, seg int
	last        bool // the task's last program: where its drops cut it
	execSegment
}

// parts cuts the tasks shown into their programs, in stream order.
func (f *followed) parts() []taskPart {
	index := make(map[*abi.TaskStream]int, len(f.ft.Tasks))
	for i, t := range f.ft.Tasks {
		index[t] = i
	}
	var out []taskPart
	for _, t := range f.tasks {
		segs := execSegments(t)
		for k, s := range segs {
			out = append(out, taskPart{task: t, stream: index[t], seg: k, last: k == len(segs)-1, execSegment: s})
		}
	}
	return out
}

// summary is what decoding found in the part's chunks.
func (p *taskPart) summary(f *followed) *abi.Summary {
	dropped := uint64(0)
	if p.last {
		dropped = p.task.Dropped
	}
	return f.summaryOf(p.chunks, p.records, dropped)
}

// options are how the part's calls are built. markers: the trace has the
// kernel's no-parameter and void markers (scan tells).
func (p *taskPart) options(markers bool) calls.Options {
	return calls.Options{Full: p.last && p.task.Dropped > 0, Markers: markers}
}

// build groups the part's records into calls.
func (p *taskPart) build(f *followed, area []uint64, markers bool) *calls.Tree {
	return calls.BuildRecords(area, p.records, p.summary(f), p.options(markers))
}

// label names the part in the output of a command that lists several:
// "task 12 (sh)", "task 12 (ls, after execve 1)".
func (p *taskPart) label() string {
	if p.seg == 0 {
		return fmt.Sprintf("task %d (%s)", p.task.Tid, p.comm)
	}
	return fmt.Sprintf("task %d (%s, after execve %d)", p.task.Tid, p.comm, p.seg)
}

// anomalies is the whole trace's anomalies as a decoder summary, for
// printAnomalies.
func (f *followed) anomalies() *abi.Summary { return followAnomalies(f.ft) }

// followAnomalies is a follow-mode trace's anomalies as a decoder
// summary, for printAnomalies.
func followAnomalies(ft *abi.FollowTrace) *abi.Summary {
	s := &abi.Summary{Format: abi.FormatV1}
	for _, a := range ft.Anomalies {
		s.AnomalyCounts[a.Kind]++
	}
	s.Anomalies = ft.Anomalies
	return s
}

// header is the line that opens a task's output in show and decode.
func taskHeader(t *abi.TaskStream) string {
	state := "exited"
	if !t.Exited {
		state = "running when tracing stopped"
	}
	role := ""
	if t.Root {
		role = ", root"
	}
	names := taskNames(t)
	return fmt.Sprintf("task %d (%s) process %d parent %d%s: %d records, %d dropped, %s", t.Tid, names, t.Tgid, t.Ptid, role, len(t.Records), t.Dropped, state)
}

// taskNames is a task's names in order: "sh→worker" for one that exec'd.
func taskNames(t *abi.TaskStream) string {
	var names []string
	for _, c := range t.Chunks {
		if len(names) == 0 || names[len(names)-1] != c.Comm {
			names = append(names, c.Comm)
		}
	}
	return strings.Join(names, "→")
}

// writeProcessTree prints the tasks nested under the task that created
// them; a task whose parent has no stream (it never recorded, or was not
// traced) starts a tree of its own.
func writeProcessTree(w io.Writer, tasks []*abi.TaskStream) {
	byTid := map[int]bool{}
	kids := map[int][]*abi.TaskStream{}
	for _, t := range tasks {
		byTid[t.Tid] = true
	}
	var tops []*abi.TaskStream
	for _, t := range tasks {
		if t.Ptid != t.Tid && byTid[t.Ptid] {
			kids[t.Ptid] = append(kids[t.Ptid], t)
		} else {
			tops = append(tops, t)
		}
	}
	seen := map[*abi.TaskStream]bool{}
	var walk func(t *abi.TaskStream, depth int)
	walk = func(t *abi.TaskStream, depth int) {
		if seen[t] {
			return // a tid seen again as a new stream: already printed
		}
		seen[t] = true
		kind := "process"
		if t.Tgid != t.Tid {
			kind = fmt.Sprintf("thread of %d", t.Tgid)
		}
		fmt.Fprintf(w, "%s%d %s (%s), %d records\n", strings.Repeat("  ", depth), t.Tid, taskNames(t), kind, len(t.Records))
		for _, k := range kids[t.Tid] {
			walk(k, depth+1)
		}
	}
	for _, t := range tops {
		walk(t, 0)
	}
	// Parents that name each other (a damaged buffer) leave tasks that
	// no top reaches: each heads a tree of its own.
	for _, t := range tasks {
		walk(t, 0)
	}
}

// taskStats counts one task's records by function, as stats does.
func taskStats(byPC map[uint64]*fnStat, t *abi.TaskStream) {
	for i := range t.Records {
		r := &t.Records[i]
		s := byPC[r.PC]
		if s == nil {
			s = &fnStat{pc: r.PC}
			byPC[r.PC] = s
		}
		if r.Kind == abi.KindReturn {
			s.ret++
		} else {
			s.entry++
		}
		s.words += r.Words()
	}
}

func sortStats(byPC map[uint64]*fnStat) []*fnStat {
	stats := make([]*fnStat, 0, len(byPC))
	for _, s := range byPC {
		stats = append(stats, s)
	}
	slices.SortFunc(stats, func(a, b *fnStat) int {
		return cmp.Or(cmp.Compare(b.entry+b.ret, a.entry+a.ret), cmp.Compare(a.pc, b.pc))
	})
	return stats
}

// followStats is stats of a follow-mode trace: the buffer's chunks, a
// row per task, the process tree, then the functions of the tasks shown.
func followStats(cmd *cobra.Command, file string, src *input, f *followed, top int, asJSON bool) error {
	ft, m := f.ft, src.trace.Meta
	byPC := map[uint64]*fnStat{}
	var sum abi.Summary
	for _, t := range f.tasks {
		taskStats(byPC, t)
		s := f.summary(t)
		sum.Records += s.Records
		for k := range s.ByKind {
			sum.ByKind[k] += s.ByKind[k]
		}
	}
	for _, a := range ft.Anomalies {
		sum.AnomalyCounts[a.Kind]++
	}
	pcs := map[uint64]bool{}
	for pc := range byPC {
		pcs[pc] = true
	}
	warning, _ := src.names.check(pcs)
	stats := sortStats(byPC)
	notes := func() error {
		printSetup(cmd.ErrOrStderr(), src)
		if warning != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "warning:", warning)
		}
		printAnomalies(cmd.ErrOrStderr(), f.anomalies(), 10)
		return src.fileErr
	}
	exact := len(ft.Anomalies) == 0
	if asJSON {
		j := followStatsJSON{File: file, Format: "v1", Kernel: m.KernelRelease, Command: m.Command,
			ChunkWords: ft.ChunkWords, Chunks: ft.Slots, Carved: ft.Carved, Full: ft.Full,
			Dropped: m.Dropped, DroppedInChunks: ft.Dropped, Records: sum.Records, ByKind: map[string]int{},
			Functions: len(stats), Exact: exact, Anomalies: map[string]int{}, Tasks: []taskJSON{}, Top: []fnJSON{}}
		for _, k := range []abi.Kind{abi.KindEntry, abi.KindReturn, abi.KindCompare} {
			j.ByKind[k.String()] = sum.ByKind[k]
		}
		for k, n := range sum.AnomalyCounts {
			if n > 0 {
				j.Anomalies[abi.AnomalyKind(k).String()] = n
			}
		}
		for _, t := range f.tasks {
			j.Tasks = append(j.Tasks, taskJSON{Tid: t.Tid, Process: t.Tgid, Parent: t.Ptid, Name: t.Comm, Names: strings.Split(taskNames(t), "→"),
				Root: t.Root, Exited: t.Exited, Records: len(t.Records), Dropped: t.Dropped, Chunks: len(t.Chunks)})
		}
		for i, s := range stats {
			if i == top {
				j.MoreFunctions = len(stats) - top
				break
			}
			j.Top = append(j.Top, fnJSON{fmt.Sprintf("%#x", s.pc), src.names.name(s.pc), s.entry, s.ret, s.words})
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(j); err != nil {
			return err
		}
		return notes()
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "file\t%s\n", file)
	fmt.Fprintf(w, "format\tv1 in per-task chunks of %d words (follow mode)\n", ft.ChunkWords)
	if m.KernelRelease != "" {
		fmt.Fprintf(w, "kernel\t%s\n", m.KernelRelease)
	}
	if len(m.Command) > 0 {
		fmt.Fprintf(w, "command\t%q\n", m.Command)
	}
	full := ""
	if ft.Full {
		full = ", full"
	}
	fmt.Fprintf(w, "chunks\t%d of %d taken (%d of %d words)%s\n", ft.Carved, ft.Slots, ft.Carved*ft.ChunkWords, m.BufferWords, full)
	if m.Dropped != nil {
		fmt.Fprintf(w, "dropped\t%d records (kernel drop counter), %d of them counted in the tasks' chunks\n", *m.Dropped, ft.Dropped)
	} else {
		fmt.Fprintf(w, "dropped\t%d records counted in the tasks' chunks\n", ft.Dropped)
	}
	fmt.Fprintf(w, "tasks\t%d", len(ft.Tasks))
	if len(f.tasks) != len(ft.Tasks) {
		fmt.Fprintf(w, ", %d shown", len(f.tasks))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "records\t%d (entry %d, return %d, compare %d)\n", sum.Records, sum.ByKind[abi.KindEntry], sum.ByKind[abi.KindReturn], sum.ByKind[abi.KindCompare])
	fmt.Fprintf(w, "functions\t%d\n", len(byPC))
	fmt.Fprintf(w, "exact\t%s\n", map[bool]string{true: "yes", false: "no"}[exact])
	for k, n := range sum.AnomalyCounts {
		if n > 0 {
			fmt.Fprintf(w, "anomaly %s\t%d\n", abi.AnomalyKind(k), n)
		}
	}
	fmt.Fprintln(w)
	writeTaskRows(w, f.tasks)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), "\nprocess tree")
	writeProcessTree(cmd.OutOrStdout(), f.tasks)
	fmt.Fprintln(cmd.OutOrStdout())
	w = tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	printFnTable(w, stats, top, src.names)
	if err := w.Flush(); err != nil {
		return err
	}
	return notes()
}

// writeTaskRows writes a row per task, cells separated by tabs for a
// tabwriter: its ids, names, records, drops, chunks and state.
func writeTaskRows(w io.Writer, tasks []*abi.TaskStream) {
	fmt.Fprintf(w, "tid\tprocess\tparent\tname\trecords\tdropped\tchunks\tstate\n")
	for _, t := range tasks {
		state := "exited"
		if !t.Exited {
			state = "running"
		}
		if t.Root {
			state += ", root"
		}
		fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%d\t%d\t%d\t%s\n", t.Tid, t.Tgid, t.Ptid, taskNames(t), len(t.Records), t.Dropped, len(t.Chunks), state)
	}
}

// followStatsJSON is "kcovdf stats --json" of a follow-mode trace.
type followStatsJSON struct {
	File            string         `json:"file"`
	Format          string         `json:"format"`
	Kernel          string         `json:"kernel,omitempty"`
	Command         []string       `json:"command,omitempty"`
	ChunkWords      int            `json:"chunk_words"`
	Chunks          int            `json:"chunks"`
	Carved          int            `json:"chunks_taken"`
	Full            bool           `json:"full"`
	Dropped         *uint64        `json:"dropped,omitempty"` // the kernel's drop counter
	DroppedInChunks uint64         `json:"dropped_in_chunks"`
	Tasks           []taskJSON     `json:"tasks"`
	Records         int            `json:"records"`
	ByKind          map[string]int `json:"by_kind"`
	Functions       int            `json:"functions"`
	Exact           bool           `json:"exact"`
	Anomalies       map[string]int `json:"anomalies"`
	Top             []fnJSON       `json:"top"`
	MoreFunctions   int            `json:"more_functions"`
}

type taskJSON struct {
	Tid     int      `json:"tid"`
	Process int      `json:"process"`
	Parent  int      `json:"parent"`
	Name    string   `json:"name"`
	Names   []string `json:"names"` // every name, in order: a task that exec'd has several
	Root    bool     `json:"root"`
	Exited  bool     `json:"exited"`
	Records int      `json:"records"`
	Dropped uint64   `json:"dropped"`
	Chunks  int      `json:"chunks"`
}

// scan is input.scan over the tasks shown.
func (f *followed) scan() traced {
	s := traced{pcs: map[uint64]bool{}}
	for _, t := range f.tasks {
		for i := range t.Records {
			s.pcs[t.Records[i].PC] = true
			s.markers = s.markers || t.Records[i].Size == 0
		}
	}
	return s
}

// showFollow is show of a follow-mode trace: each task's calls under a
// header line (in JSON, each call carries its tid).
func showFollow(cmd *cobra.Command, src *input, f *followed, sh *shower, out *bufio.Writer, warning string, preds []*wherePred) error {
	ew := cmd.ErrOrStderr()
	seen := f.scan()
	var notes []string
	// A call never spans an execve: each program's calls are a stream of
	// their own, under a line that says which.
	for _, p := range f.parts() {
		t := p.task
		if !sh.asJSON {
			if p.seg == 0 {
				fmt.Fprintf(out, "== %s\n", taskHeader(t))
			} else {
				fmt.Fprintf(out, "== task %d exec: %s\n", t.Tid, p.comm)
			}
		}
		sh.v.tid = t.Tid
		end, err := calls.StreamRecords(src.trace.Words, p.records, p.summary(f), p.options(seen.markers), sh.tree)
		if err != nil {
			return err
		}
		for _, n := range end.Notes {
			notes = append(notes, fmt.Sprintf("task %d: %s", t.Tid, n))
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	printShowNotes(ew, src, notes, warning, preds, f.anomalies())
	return src.fileErr
}

// execSegment is the records a task wrote under one program, and the
// chunks they lie in.
type execSegment struct {
	comm    string
	records []abi.Record
	chunks  []abi.Chunk
}

// execSegments cuts a task's records where a chunk flagged exec begins.
func execSegments(t *abi.TaskStream) []execSegment {
	segs := []execSegment{{comm: taskNames(t), chunks: t.Chunks}}
	if len(t.Chunks) > 0 {
		segs[0].comm = t.Chunks[0].Comm
	}
	start, first := 0, 0
	for k := 1; k < len(t.Chunks); k++ {
		c := t.Chunks[k]
		if c.Flags&abi.ChunkExec == 0 {
			continue
		}
		// The first record at or past the chunk.
		i := start + sort.Search(len(t.Records)-start, func(i int) bool { return t.Records[start+i].Offset >= c.Offset })
		segs[len(segs)-1].records = t.Records[start:i]
		segs[len(segs)-1].chunks = t.Chunks[first:k]
		segs = append(segs, execSegment{comm: c.Comm, chunks: t.Chunks[k:]})
		start, first = i, k
	}
	segs[len(segs)-1].records = t.Records[start:]
	return segs
}

// decodeFollow is decode of a follow-mode trace: each task's records
// under a header line (in JSON, each record carries its tid).
func decodeFollow(cmd *cobra.Command, src *input, f *followed, asJSON bool, warning string) error {
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
	rw := newRecordWriter(out, src, asJSON)
	for _, t := range f.tasks {
		if !asJSON {
			fmt.Fprintf(out, "== %s\n", taskHeader(t))
		}
		for i := range t.Records {
			if err := rw.write(&t.Records[i], t.Tid); err != nil {
				return err
			}
		}
	}
	return finishDecode(cmd.ErrOrStderr(), out, src, warning, f.anomalies())
}
