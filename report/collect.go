package report

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
)

// Task is one task's calls: a trace's named call tree and what was
// captured with it.
type Task struct {
	// Name labels the task in the report, e.g. the trace file's name.
	Name string
	// Meta is the capture metadata; nil for a raw area dump.
	Meta *abi.Meta
	Tree *calls.Tree
	// Namer names the tree's functions and renders its values; nil
	// renders them as hex words.
	Namer *calls.Namer
	// Notes are what the reader should know about the decoding
	// (anomalies, a vmlinux that names few functions).
	Notes []string
	// Thread is the task of a follow-mode trace these calls are of; nil
	// for a trace of one task.
	Thread *Thread
}

// Thread is a task of a follow-mode trace: its ids in the traced pid
// namespace, its name while it made the calls, and how many execve()s
// it made before them. The page offers a selector of these tasks.
type Thread struct {
	Tid  int    `json:"tid"`
	Tgid int    `json:"pid"`
	Ptid int    `json:"ppid"`
	Comm string `json:"comm"`
	Exec int    `json:"exec"`
}

// Options tune the report.
type Options struct {
	// Title heads the page; "" gives "kcovdf report".
	Title string
	// TopValues is how many of the most frequent values a histogram
	// lists (0: 10).
	TopValues int
	// Rewrite, when set, changes every rendered value before it is
	// used (a redaction of kernel addresses, say); Fields too.
	Rewrite func(r *calls.Rendered)
}

// maxDistinct bounds the values counted one by one per argument or
// field: a pointer argument of a full trace takes a new value at almost
// every call, and its histogram only needs the top and the log2 buckets.
// Small maps also keep counting fast (a full trace has tens of millions
// of values).
const maxDistinct = 1 << 10

// Data is what the report embeds, as JSON: the tables its script renders.
// Calls are stored by column, and every value text once in Strs, so that
// a full trace's report stays a few bytes a call.
type Data struct {
	Version int    `json:"version"`
	Title   string `json:"title"`
	// Strs are the distinct texts of values, indexed from the columns.
	Strs []string `json:"strs"`
	// Funcs are the functions, indexed from TaskData.Fn and Stats.
	Funcs []FuncData `json:"funcs"`
	// Sigs are the argument names and types calls were rendered with,
	// indexed from TaskData.Sig.
	Sigs   []SigData    `json:"sigs"`
	Tasks  []TaskData   `json:"tasks"`
	Stats  []FuncStats  `json:"stats"`
	Errnos []ErrnoCount `json:"errnos"`
}

// FuncData is one function.
type FuncData struct {
	Name string `json:"name"`
	PC   string `json:"pc"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// SigData is the rendering of a call's values: its arguments' names and
// types in record order, and the return type.
type SigData struct {
	Args [][2]string `json:"args"`
	Ret  string      `json:"ret,omitempty"`
}

// TaskData is one task's call tree, one entry a call in each column, in
// entry (pre-)order, so that call i's descendants are i+1 … i+Size[i].
type TaskData struct {
	Name   string    `json:"name"`
	Thread *Thread   `json:"thread,omitempty"`
	Meta   *abi.Meta `json:"meta,omitempty"`
	Exact  bool      `json:"exact"`
	Open   int       `json:"open"`
	Notes  []string  `json:"notes,omitempty"`

	Fn   []int32  `json:"fn"`   // index in Funcs
	Size []int32  `json:"size"` // number of descendants
	Flag []uint16 `json:"flag"` // calls.Flags, Errno set from the return value
	Seq  []uint32 `json:"seq"`  // sequence number of the call's first record
	Sig  []int32  `json:"sig"`  // index in Sigs; the call has len(Sigs[Sig].Args) values in Args
	Args []int32  `json:"args"` // index in Strs of each argument's text
	Ret  []int32  `json:"ret"`  // index in Strs of the return's text, -1 for none
}

// FuncStats counts the calls of one function over all tasks.
type FuncStats struct {
	Func   int32       `json:"func"`
	Calls  int         `json:"calls"`
	Errors int         `json:"errors"`
	Values []ValueHist `json:"values"`
}

// ValueHist is the histogram of one argument ("count"), struct field
// ("how.flags") or the return ("return") of a function.
type ValueHist struct {
	Name string `json:"name"`
	// N is how many values were seen; Distinct how many different ones
	// (at least, when More is set: counting stopped at maxDistinct, 1024).
	N        int  `json:"n"`
	Distinct int  `json:"distinct"`
	More     bool `json:"more,omitempty"`
	// Top are the most frequent values, most frequent first.
	Top []TopValue `json:"top"`
	// Log2 buckets the numeric values when they take more values than
	// Top lists: bucket b > 0 holds [2^(b-1), 2^b), -b its negatives,
	// 0 zero. Left out for struct pointers and for few values.
	Log2 []Bucket `json:"log2,omitempty"`
}

// TopValue is one value and how often it was seen.
type TopValue struct {
	Text  string `json:"text"`
	Count int    `json:"count"`
}

// Bucket is one log2 bucket and its count.
type Bucket struct {
	Bucket int `json:"bucket"`
	Count  int `json:"count"`
}

// ErrnoCount is how often a function returned an errno.
type ErrnoCount struct {
	Func  int32  `json:"func"`
	Errno string `json:"errno"` // "ENOENT", or the number when it has no name
	Count int    `json:"count"`
}

// ErrNoTasks is returned for a report of nothing.
var ErrNoTasks = errors.New("report: no task to report (give at least one trace)")

// Collect gathers the report's tables from the tasks' call trees.
func Collect(tasks []Task, opt Options) (*Data, error) {
	if len(tasks) == 0 {
		return nil, ErrNoTasks
	}
	c := &collector{
		opt:   opt,
		strs:  map[string]int32{},
		funcs: map[string]int32{},
		sigs:  map[string]int32{},
		stats: map[int32]*funcAcc{},
		errs:  map[errKey]int{},
	}
	if c.opt.TopValues <= 0 {
		c.opt.TopValues = 10
	}
	d := &Data{Version: 1, Title: cmp.Or(opt.Title, "kcovdf report")}
	for k, t := range tasks {
		if t.Tree == nil {
			return nil, fmt.Errorf("report: task %d (%q) has no call tree", k, t.Name)
		}
		d.Tasks = append(d.Tasks, c.task(&t))
	}
	d.Strs, d.Funcs, d.Sigs = c.strList, c.funcList, c.sigList
	d.Stats = c.finishStats()
	for k, n := range c.errs {
		d.Errnos = append(d.Errnos, ErrnoCount{Func: k.fn, Errno: k.errno, Count: n})
	}
	slices.SortFunc(d.Errnos, func(a, b ErrnoCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Errno, b.Errno), cmp.Compare(d.Funcs[a.Func].Name, d.Funcs[b.Func].Name))
	})
	return d, nil
}

type errKey struct {
	fn    int32
	errno string
}

type collector struct {
	opt      Options
	strs     map[string]int32
	strList  []string
	funcs    map[string]int32 // by name, or pc for unnamed functions
	funcList []FuncData
	byPC     map[*calls.Namer]map[uint64]int32
	sigs     map[string]int32
	sigList  []SigData
	stats    map[int32]*funcAcc
	errs     map[errKey]int
}

// funcAcc accumulates one function's statistics.
type funcAcc struct {
	calls, errors int
	hists         []*hist
	byName        map[string]*hist
	byArg         map[string]*argHists
}

// argHists are the histograms of one argument and of its fields by
// position, found without building "arg.field" for every value.
type argHists struct {
	self   *hist
	fields []*hist
	names  []string // the field names of fields
}

// hist accumulates one argument's or field's values. They are counted
// by raw word, which is fast, and merged by text at the end: bitfields
// share a word, so only the text tells their values apart.
type hist struct {
	name    string
	n       int
	byRaw   map[uint64]int32 // index in vals
	vals    []TopValue
	more    bool
	scalar  bool // a number, not a struct's pointer: log2 buckets apply
	buckets [129]int
}

func (c *collector) str(s string) int32 {
	if i, ok := c.strs[s]; ok {
		return i
	}
	i := int32(len(c.strList))
	c.strs[s] = i
	c.strList = append(c.strList, s)
	return i
}

func (c *collector) fn(nm *calls.Namer, pc uint64) int32 {
	if c.byPC == nil {
		c.byPC = map[*calls.Namer]map[uint64]int32{}
	}
	m := c.byPC[nm]
	if m == nil {
		m = map[uint64]int32{}
		c.byPC[nm] = m
	}
	if i, ok := m[pc]; ok {
		return i
	}
	fi := nm.Func(pc)
	key := fi.NameOr(pc)
	i, ok := c.funcs[key]
	if !ok {
		i = int32(len(c.funcList))
		f := FuncData{Name: key, PC: nm.Hex(pc)}
		if fi.Func != nil {
			f.File, f.Line = fi.Func.File, fi.Func.Line
		}
		c.funcs[key] = i
		c.funcList = append(c.funcList, f)
	}
	m[pc] = i
	return i
}

func (c *collector) sig(args []calls.Rendered, ret *calls.Rendered) int32 {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a.Name)
		b.WriteByte(0)
		b.WriteString(a.Type)
		b.WriteByte(0)
	}
	if ret != nil {
		b.WriteByte(1)
		b.WriteString(ret.Type)
	}
	key := b.String()
	if i, ok := c.sigs[key]; ok {
		return i
	}
	s := SigData{Args: make([][2]string, len(args))}
	for k, a := range args {
		s.Args[k] = [2]string{a.Name, a.Type}
	}
	if ret != nil {
		s.Ret = ret.Type
	}
	i := int32(len(c.sigList))
	c.sigs[key] = i
	c.sigList = append(c.sigList, s)
	return i
}

func (c *collector) task(t *Task) TaskData {
	nm := t.Namer
	if nm == nil {
		nm = &calls.Namer{}
	}
	tr := t.Tree
	n := len(tr.Calls)
	td := TaskData{
		Name: t.Name, Thread: t.Thread, Meta: t.Meta, Exact: tr.Exact, Open: tr.Open,
		Notes: append(slices.Clone(tr.Notes), t.Notes...),
		Fn:    make([]int32, n), Size: make([]int32, n), Flag: make([]uint16, n),
		Seq: make([]uint32, n), Sig: make([]int32, n), Ret: make([]int32, n),
		Args: make([]int32, 0, 2*n),
	}
	for i := range tr.Calls {
		call := &tr.Calls[i]
		fn := c.fn(nm, call.PC)
		td.Fn[i] = fn
		td.Size[i] = call.End - int32(i) - 1
		td.Seq[i] = call.Seq
		flag := call.Flags
		args := nm.Args(tr, i)
		ret, hasRet := nm.Ret(tr, i)
		acc := c.stats[fn]
		if acc == nil {
			acc = &funcAcc{byName: map[string]*hist{}, byArg: map[string]*argHists{}}
			c.stats[fn] = acc
		}
		acc.calls++
		for k := range args {
			a := &args[k]
			if c.opt.Rewrite != nil {
				c.opt.Rewrite(a)
			}
			td.Args = append(td.Args, c.str(a.Text))
			c.count(acc, a)
		}
		td.Ret[i] = -1
		var retp *calls.Rendered
		if hasRet {
			if c.opt.Rewrite != nil {
				c.opt.Rewrite(&ret)
			}
			ret.Name = "return"
			retp = &ret
			td.Ret[i] = c.str(ret.Text)
			c.count(acc, &ret)
			if ret.Errno != 0 {
				flag |= calls.Errno
				acc.errors++
				e := calls.ErrnoName(ret.Errno)
				if e == "" {
					e = strconv.FormatInt(ret.Errno, 10)
				}
				c.errs[errKey{fn, e}]++
			}
		}
		td.Flag[i] = uint16(flag)
		td.Sig[i] = c.sig(args, retp)
	}
	return td
}

// count adds a value, and each of its fields, to the function's
// histograms.
func (c *collector) count(acc *funcAcc, r *calls.Rendered) {
	ah := acc.byArg[r.Name]
	if ah == nil {
		ah = &argHists{}
		acc.byArg[r.Name] = ah
	}
	if len(r.Fields) == 0 {
		if ah.self == nil || !ah.self.scalar {
			ah.self = acc.hist(r.Name, true)
		}
		ah.self.add(r.Raw, r.Text)
		return
	}
	// A struct: the pointer itself, then every field.
	if ah.self == nil || ah.self.scalar {
		ah.self = acc.hist(r.Name, false)
	}
	text := "NULL"
	if r.Raw != 0 {
		text = "0x" + strconv.FormatUint(r.Raw, 16)
	}
	ah.self.add(r.Raw, text)
	for k := range r.Fields {
		f := &r.Fields[k]
		if k >= len(ah.fields) {
			ah.fields = append(ah.fields, nil)
			ah.names = append(ah.names, "")
		}
		if ah.fields[k] == nil || ah.names[k] != f.Name {
			ah.fields[k], ah.names[k] = acc.hist(r.Name+"."+f.Name, true), f.Name
		}
		ah.fields[k].add(f.Raw, f.Text)
	}
}

func (a *funcAcc) hist(name string, scalar bool) *hist {
	h := a.byName[name]
	if h == nil {
		h = &hist{name: name, byRaw: map[uint64]int32{}, scalar: scalar}
		a.byName[name] = h
		a.hists = append(a.hists, h)
	}
	return h
}

func (h *hist) add(raw uint64, text string) {
	h.n++
	if k, ok := h.byRaw[raw]; ok {
		h.vals[k].Count++
	} else if len(h.vals) < maxDistinct {
		h.byRaw[raw] = int32(len(h.vals))
		h.vals = append(h.vals, TopValue{text, 1})
	} else {
		h.more = true
	}
	if h.scalar {
		// By the text's number when it has one (a sign-extended int, a
		// bitfield), else by the raw word (enum names, NULL, <fault>).
		v, signed, ok := number(text)
		if !ok {
			v, signed = int64(raw), false
		}
		h.buckets[64+log2Bucket(v, signed)]++
	}
}

// log2Bucket is b for |v| in [2^(b-1), 2^b), negative for negative
// signed values; unsigned words are never negative.
func log2Bucket(v int64, signed bool) int {
	if signed && v < 0 {
		return -bits.Len64(uint64(-v))
	}
	return bits.Len64(uint64(v))
}

// number reads a rendered number: decimal (signed when it has a minus),
// hex, or an errno name.
func number(text string) (v int64, signed, ok bool) {
	if len(text) == 0 {
		return 0, false, false
	}
	if text[0] == '-' {
		if len(text) > 1 && text[1] == 'E' {
			e, ok := calls.ErrnoValue(text[1:])
			return -e, true, ok
		}
		v, err := strconv.ParseInt(text, 10, 64)
		return v, true, err == nil
	}
	u, err := strconv.ParseUint(text, 0, 64)
	return int64(u), false, err == nil
}

func (c *collector) finishStats() []FuncStats {
	out := make([]FuncStats, 0, len(c.stats))
	for fn, acc := range c.stats {
		fs := FuncStats{Func: fn, Calls: acc.calls, Errors: acc.errors, Values: make([]ValueHist, 0, len(acc.hists))}
		for _, h := range acc.hists {
			fs.Values = append(fs.Values, h.finish(c.opt.TopValues))
		}
		out = append(out, fs)
	}
	slices.SortFunc(out, func(a, b FuncStats) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(c.funcList[a.Func].Name, c.funcList[b.Func].Name))
	})
	return out
}

func (h *hist) finish(top int) ValueHist {
	byText := make(map[string]int, len(h.vals))
	all := make([]TopValue, 0, len(h.vals))
	for _, v := range h.vals {
		if k, ok := byText[v.Text]; ok {
			all[k].Count += v.Count
			continue
		}
		byText[v.Text] = len(all)
		all = append(all, v)
	}
	v := ValueHist{Name: h.name, N: h.n, Distinct: len(all), More: h.more, Top: []TopValue{}}
	slices.SortFunc(all, func(a, b TopValue) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Text, b.Text)) })
	v.Top = append(v.Top, all[:min(top, len(all))]...)
	if h.scalar && (len(all) > top || h.more) {
		for b, n := range h.buckets {
			if n > 0 {
				v.Log2 = append(v.Log2, Bucket{Bucket: b - 64, Count: n})
			}
		}
	}
	return v
}
