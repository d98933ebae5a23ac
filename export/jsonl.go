package export

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/kcovdf/kcovdf/calls"
)

// CallLine is one line of the JSON Lines export: one call, its arguments
// and its return rendered as show prints them, with the raw words beside.
type CallLine struct {
	TaskID int64  `json:"task_id"`
	Trace  string `json:"trace"`
	// Tid, Tgid and Comm are the task's, in a follow-mode trace: its id,
	// its process's and its name while it made the call.
	Tid  int    `json:"tid,omitempty"`
	Tgid int    `json:"tgid,omitempty"`
	Comm string `json:"comm,omitempty"`
	// Call is the call's index in its task, in entry order; Parent is
	// the caller's (-1 for a top-level call) and End one past the last
	// callee's, so a call's callees are the calls Call+1 .. End-1.
	Call   int    `json:"call"`
	Parent int32  `json:"parent"`
	End    int32  `json:"end"`
	Depth  int32  `json:"depth"`
	Seq    uint32 `json:"seq"`
	PC     string `json:"pc"`
	Func   string `json:"func"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	// Args are the entry values in argument order, markers left out.
	Args []calls.Rendered `json:"args"`
	// Ret is the return value; absent for void functions and calls that
	// no return record closed.
	Ret   *calls.Rendered `json:"ret,omitempty"`
	Flags []string        `json:"flags,omitempty"`
}

// Line fills l with call i of t.
func (t *Task) Line(i int, l *CallLine) {
	c := &t.Tree.Calls[i]
	fi := t.Names.Func(c.PC)
	*l = CallLine{TaskID: t.ID, Trace: t.Trace, Call: i, Parent: c.Parent, End: c.End, Depth: c.Depth, Seq: c.Seq,
		PC: t.Names.Hex(c.PC), Func: fi.NameOr(c.PC), Args: t.Names.Args(t.Tree, i), Flags: flagList(c.Flags)}
	if th := t.Thread; th != nil {
		l.Tid, l.Tgid, l.Comm = th.Tid, th.Tgid, th.Comm
	}
	if l.Args == nil {
		l.Args = []calls.Rendered{}
	}
	if fi.Func != nil {
		l.File, l.Line = fi.Func.File, fi.Func.Line
	}
	if r, ok := t.Names.Ret(t.Tree, i); ok {
		l.Ret = &r
	}
}

// WriteJSONL writes every call of every task, one JSON object a line, in
// task order and entry order within a task.
func WriteJSONL(w io.Writer, tasks []*Task) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var l CallLine
	for _, t := range tasks {
		for i := range t.Tree.Calls {
			t.Line(i, &l)
			if err := enc.Encode(&l); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}
