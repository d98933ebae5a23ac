package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kcovdf/kcovdf/calls"
	"github.com/klauspost/compress/s2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// The Parquet tables, one file each in the export's directory (see
// docs/export.md). Every row carries its task's ID; the tables of calls
// carry the function's name too, so most questions need no join.

// CallRow is a row of calls.parquet: one call.
type CallRow struct {
	TaskID int64  `parquet:"task_id"`
	CallID int32  `parquet:"call_id"`   // index in its task, entry order
	Parent int32  `parquet:"parent_id"` // -1 for a top-level call
	End    int32  `parquet:"subtree_end"`
	Depth  int32  `parquet:"depth"`
	Seq    int64  `parquet:"seq"`
	PC     uint64 `parquet:"pc"`
	Func   string `parquet:"func,dict"`
	File   string `parquet:"file,dict"`
	Line   int32  `parquet:"line"`
	NArgs  int32  `parquet:"nargs"`
	// Records is how many records the call has: its entry records
	// (no-parameter markers included) and its return record (a void
	// marker included), so the calls' records add up to the trace's.
	Records int32 `parquet:"records"`
	HasRet  bool  `parquet:"has_return"`
	Errno   int32 `parquet:"errno"` // > 0 when the call returned -errno or ERR_PTR(-errno)
	// What the records do not tell (calls.Flags).
	NoReturn bool `parquet:"no_return"`
	NoEntry  bool `parquet:"no_entry"`
	Unsure   bool `parquet:"unsure"`
	// Tid is the task that made the call, in a follow-mode trace; null
	// for a trace of one task.
	Tid *int32 `parquet:"tid,optional"`
}

// ArgRow is a row of args.parquet: one argument of one call.
type ArgRow struct {
	TaskID  int64  `parquet:"task_id"`
	CallID  int32  `parquet:"call_id"`
	Func    string `parquet:"func,dict"`
	Arg     int32  `parquet:"arg"` // source parameter index
	Name    string `parquet:"name,dict"`
	Type    string `parquet:"type,dict"`
	Text    string `parquet:"text"`
	Raw     uint64 `parquet:"raw"` // the value word, or the struct's address
	Ptr     uint64 `parquet:"ptr"` // the captured pointer (a struct's address, or a spilled scalar's slot)
	Size    int32  `parquet:"size"`
	NFields int32  `parquet:"nfields"`
	Errno   int32  `parquet:"errno"` // > 0 for an ERR_PTR(-errno) argument
}

// ReturnRow is a row of returns.parquet: the return value of one call.
type ReturnRow struct {
	TaskID    int64  `parquet:"task_id"`
	CallID    int32  `parquet:"call_id"`
	Func      string `parquet:"func,dict"`
	Type      string `parquet:"type,dict"`
	Text      string `parquet:"text"`
	Raw       uint64 `parquet:"raw"`
	Errno     int32  `parquet:"errno"`
	ErrnoName string `parquet:"errno_name,dict"`
	NFields   int32  `parquet:"nfields"`
}

// FieldRow is a row of fields.parquet: one struct field of an argument
// (Arg >= 0) or of a return value (Arg = -1, ArgName "return").
type FieldRow struct {
	TaskID  int64  `parquet:"task_id"`
	CallID  int32  `parquet:"call_id"`
	Func    string `parquet:"func,dict"`
	Arg     int32  `parquet:"arg"`
	ArgName string `parquet:"arg_name,dict"`
	Field   int32  `parquet:"field"`
	Name    string `parquet:"name,dict"`
	Text    string `parquet:"text"`
	Raw     uint64 `parquet:"raw"`
}

// FunctionRow is a row of functions.parquet: one traced function of one
// task, with its counts.
type FunctionRow struct {
	TaskID int64  `parquet:"task_id"`
	PC     uint64 `parquet:"pc"`
	Func   string `parquet:"func"`
	File   string `parquet:"file"`
	Line   int32  `parquet:"line"`
	Calls  int64  `parquet:"calls"`
	Errors int64  `parquet:"errors"`
}

// TaskRow is a row of tasks.parquet: one traced task.
type TaskRow struct {
	TaskID       int64  `parquet:"task_id"`
	Trace        string `parquet:"trace"`
	Command      string `parquet:"command"`
	Records      int64  `parquet:"records"`
	Calls        int64  `parquet:"calls"`
	Exact        bool   `parquet:"exact"`
	OpenCalls    int64  `parquet:"open_calls"`
	Unattributed int64  `parquet:"unattributed_words"`
	LostRecords  int64  `parquet:"lost_records"`
	// The task of a follow-mode trace (a row per task and program it
	// ran); null for a trace of one task.
	Tid    *int32  `parquet:"tid,optional"`
	Tgid   *int32  `parquet:"tgid,optional"`
	Ptid   *int32  `parquet:"ptid,optional"`
	Comm   *string `parquet:"comm,optional"`
	Exec   *int32  `parquet:"exec,optional"`
	Root   *bool   `parquet:"root,optional"`
	Exited *bool   `parquet:"exited,optional"`
}

// CaptureRow is a row of captures.parquet: the capture metadata of one
// task's trace file (absent for a raw dump).
type CaptureRow struct {
	TaskID        int64      `parquet:"task_id"`
	Format        string     `parquet:"format"`
	KernelRelease string     `parquet:"kernel_release"`
	KASLROffset   *uint64    `parquet:"kaslr_offset,optional"`
	BuildID       string     `parquet:"build_id"`
	BufferWords   int64      `parquet:"buffer_words"`
	Fill          uint64     `parquet:"fill"`
	Overflowed    bool       `parquet:"overflowed"`
	Dropped       *uint64    `parquet:"dropped,optional"`
	Captured      *time.Time `parquet:"captured,optional,timestamp(microsecond)"`
	Source        string     `parquet:"source"`
	CRC32C        uint32     `parquet:"crc32c"`
}

// Tables are the Parquet export's tables, each in the file NAME.parquet.
var Tables = []string{"calls", "args", "returns", "fields", "functions", "tasks", "captures"}

// WriteParquet writes the tasks' tables into dir, one file per table
// (created if needed; existing tables are replaced).
func WriteParquet(dir string, tasks []*Task) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var files []*os.File
	open := func(name string) *os.File {
		f, e := os.Create(filepath.Join(dir, name+".parquet"))
		if e != nil && err == nil {
			err = e
		}
		files = append(files, f)
		return f
	}
	defer func() {
		for _, f := range files {
			if f != nil {
				if e := f.Close(); e != nil && err == nil {
					err = e
				}
			}
		}
	}()
	cw := newTable[CallRow](open("calls"))
	aw := newTable[ArgRow](open("args"))
	rw := newTable[ReturnRow](open("returns"))
	fw := newTable[FieldRow](open("fields"))
	fnw := newTable[FunctionRow](open("functions"))
	tw := newTable[TaskRow](open("tasks"))
	mw := newTable[CaptureRow](open("captures"))
	closeAll := func() error {
		return errors.Join(cw.close(), aw.close(), rw.close(), fw.close(), fnw.close(), tw.close(), mw.close())
	}
	if err != nil {
		closeAll()
		return err
	}
	for _, t := range tasks {
		var tid *int32
		if th := t.Thread; th != nil {
			tid = ptr(int32(th.Tid))
		}
		type counts struct{ calls, errors int64 }
		perPC := map[uint64]*counts{}
		var pcs []uint64
		for i := range t.Tree.Calls {
			c := &t.Tree.Calls[i]
			fi := t.Names.Func(c.PC)
			name := fi.NameOr(c.PC)
			row := CallRow{TaskID: t.ID, CallID: int32(i), Parent: c.Parent, End: c.End, Depth: c.Depth, Seq: int64(c.Seq),
				PC: t.Names.Word(c.PC), Func: name, Records: int32(len(t.Tree.Args(i))), NoReturn: c.Flags&calls.NoReturn != 0,
				NoEntry: c.Flags&calls.NoEntry != 0, Unsure: c.Flags&calls.Unsure != 0, Tid: tid}
			if fi.Func != nil {
				row.File, row.Line = fi.Func.File, int32(fi.Func.Line)
			}
			args := t.Names.Args(t.Tree, i)
			row.NArgs = int32(len(args))
			// The captured values behind the rendered ones (which leave
			// the markers out).
			vals := t.Tree.Args(i)
			for k := range args {
				a := &args[k]
				for len(vals) > 0 && vals[0].Marker() {
					vals = vals[1:]
				}
				v := vals[0]
				vals = vals[1:]
				aw.add(ArgRow{TaskID: t.ID, CallID: int32(i), Func: name, Arg: int32(v.Idx), Name: a.Name, Type: a.Type,
					Text: a.Text, Raw: a.Raw, Ptr: t.Names.Word(v.Ptr), Size: int32(v.Size), NFields: int32(len(a.Fields)), Errno: int32(a.Errno)})
				for fi, f := range a.Fields {
					fw.add(FieldRow{TaskID: t.ID, CallID: int32(i), Func: name, Arg: int32(v.Idx), ArgName: a.Name,
						Field: int32(fi), Name: f.Name, Text: f.Text, Raw: f.Raw})
				}
			}
			if r, ok := t.Names.Ret(t.Tree, i); ok {
				row.HasRet, row.Errno = true, int32(r.Errno)
				rw.add(ReturnRow{TaskID: t.ID, CallID: int32(i), Func: name, Type: r.Type, Text: r.Text, Raw: r.Raw,
					Errno: int32(r.Errno), ErrnoName: calls.ErrnoName(r.Errno), NFields: int32(len(r.Fields))})
				for fi, f := range r.Fields {
					fw.add(FieldRow{TaskID: t.ID, CallID: int32(i), Func: name, Arg: -1, ArgName: "return",
						Field: int32(fi), Name: f.Name, Text: f.Text, Raw: f.Raw})
				}
			}
			if c.HasRet {
				row.Records++
			}
			cw.add(row)
			n := perPC[c.PC]
			if n == nil {
				n = &counts{}
				perPC[c.PC] = n
				pcs = append(pcs, c.PC)
			}
			n.calls++
			if row.Errno != 0 {
				n.errors++
			}
		}
		for _, pc := range pcs {
			fi := t.Names.Func(pc)
			row := FunctionRow{TaskID: t.ID, PC: t.Names.Word(pc), Func: fi.NameOr(pc), Calls: perPC[pc].calls, Errors: perPC[pc].errors}
			if fi.Func != nil {
				row.File, row.Line = fi.Func.File, int32(fi.Func.Line)
			}
			fnw.add(row)
		}
		s := t.Summary
		tr := TaskRow{TaskID: t.ID, Trace: t.Trace, Records: int64(s.Records), Calls: int64(len(t.Tree.Calls)),
			Exact: t.Tree.Exact, OpenCalls: int64(t.Tree.Open), Unattributed: int64(s.Unattributed), LostRecords: int64(s.LostRecords)}
		if th := t.Thread; th != nil {
			tr.Tid, tr.Tgid, tr.Ptid, tr.Comm = tid, ptr(int32(th.Tgid)), ptr(int32(th.Ptid)), ptr(th.name())
			tr.Exec, tr.Root, tr.Exited = ptr(int32(th.Exec)), ptr(th.Root), ptr(th.Exited)
		}
		if m := t.Meta; m != nil {
			tr.Command = strings.Join(m.Command, " ")
			cr := CaptureRow{TaskID: t.ID, Format: m.Format.String(), KernelRelease: m.KernelRelease, BuildID: m.BuildID,
				BufferWords: int64(m.BufferWords), Fill: m.Fill, Overflowed: m.Overflowed, Dropped: m.Dropped, Source: m.Source, CRC32C: m.CRC32C}
			if m.KASLROffset.Known {
				off := m.KASLROffset.Offset
				cr.KASLROffset = &off
			}
			if !m.Captured.IsZero() {
				at := m.Captured.UTC()
				cr.Captured = &at
			}
			mw.add(cr)
		}
		tw.add(tr)
	}
	return closeAll()
}

func ptr[T any](v T) *T { return &v }

// table buffers rows for one Parquet writer, which encodes and
// compresses them in a goroutine of its own: the tables are written in
// parallel while the calls are rendered.
type table[T any] struct {
	w    *parquet.GenericWriter[T]
	rows []T
	full chan []T // batches to write
	free chan []T // written batches, to fill again
	done chan error
	err  error
}

const tableBatch = 8192

func newTable[T any](f *os.File) *table[T] {
	if f == nil {
		return &table[T]{err: fmt.Errorf("not opened")}
	}
	t := &table[T]{w: parquet.NewGenericWriter[T](f, parquet.Compression(&fastSnappy{})), rows: make([]T, 0, tableBatch),
		full: make(chan []T, 2), free: make(chan []T, 4), done: make(chan error, 1)}
	go func() {
		var err error
		for rows := range t.full {
			if err == nil {
				_, err = t.w.Write(rows)
			}
			t.free <- rows[:0]
		}
		if err == nil {
			err = t.w.Close()
		}
		t.done <- err
	}()
	return t
}

func (t *table[T]) add(r T) {
	t.rows = append(t.rows, r)
	if len(t.rows) == tableBatch {
		t.flush()
	}
}

func (t *table[T]) flush() {
	if t.w == nil || len(t.rows) == 0 {
		return
	}
	t.full <- t.rows
	select {
	case t.rows = <-t.free:
	default:
		t.rows = make([]T, 0, tableBatch)
	}
}

// close writes what is left and the file's footer.
func (t *table[T]) close() error {
	if t.w == nil {
		return t.err
	}
	t.flush()
	close(t.full)
	return <-t.done
}

// fastSnappy is Snappy (the codec every Parquet reader has) at the
// encoder's fast setting: parquet-go's Snappy codec takes the slower
// "better" one, the export's largest cost.
type fastSnappy struct{ snappy.Codec }

func (*fastSnappy) Encode(dst, src []byte) ([]byte, error) {
	return s2.EncodeSnappy(dst[:cap(dst)], src), nil
}
