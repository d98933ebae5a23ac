package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newShowCommand) }

type showFlags struct {
	funcRE string
	depth  int
	errors bool
	where  []string
	asJSON bool
	color  string
	fields int
	pcs    bool
}

func newShowCommand() *cobra.Command {
	var in inputFlags
	var rf redactFlags
	var sf showFlags
	var task string
	cmd := &cobra.Command{
		Use:   "show [flags] TRACE",
		Short: "Print a trace's calls as a call graph, with named arguments and return values",
		Long: `show prints the calls of a trace nested as they happened, in the style of
ftrace's function_graph: a call with callees opens a block that its return
closes, a leaf call takes one line. Arguments are shown by name and by type:
signed and unsigned integers, bools, enum names, NULL, ERR_PTR(-ENOENT),
struct fields by name, <fault> where a field could not be read. Returned
errnos are shown by name.

Names and types come from --symbols (the traced kernel's vmlinux with debug
info gives all of them; System.map or kallsyms give names only) and from
--layout.

With --pcs, a trace recorded with --kcov also shows classic kcov's PCs that
ran inside each call (itself, or callees dataflow does not trace), below its
line: +OFF in the call's own function, name+OFF elsewhere, in the order they
ran. The two streams are lined up by function: a function's entry PC opens
its next call, its other PCs belong to its innermost open call; a PC marked
"?" was placed in the deepest call that surely ran it, though a callee may
have. The PCs of dataflow's own no-fault reads, which kcov sees when both
are on, are left out.`,
		Example: `  kcovdf show --symbols vmlinux --layout layout.jsonl trace.kdf
  kcovdf show --symbols vmlinux --func 'openat' --depth 2 trace.kdf
  kcovdf show --symbols vmlinux --errors trace.kdf
  kcovdf show --symbols vmlinux --where 'count==4096' --where 'ret>0' trace.kdf
  kcovdf show --symbols vmlinux --where 'how.flags==0x8000' --json trace.kdf`,
		Args: argsExactly("TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			secret, err := rf.secret()
			if err != nil {
				return err
			}
			src, err := in.open(args[0])
			if err != nil {
				return err
			}
			defer src.trace.Close()
			rt := redactor(secret, src.trace)
			defer redactOutput(cmd, rt)()
			var preds []*wherePred
			for _, w := range sf.where {
				p, err := parseWhere(w)
				if err != nil {
					return err
				}
				preds = append(preds, p)
			}
			var re *regexp.Regexp
			if sf.funcRE != "" {
				if re, err = regexp.Compile(sf.funcRE); err != nil {
					return fmt.Errorf("--func: %v", err)
				}
			}
			// One pass over the records first: the names are trusted or
			// not before any is shown, and the call trees are then built
			// and printed one top-level call at a time, so that a full
			// buffer never has all its calls in memory.
			fl, err := src.follow(args[0], task)
			if err != nil {
				return err
			}
			if fl != nil && sf.pcs {
				return fmt.Errorf("--pcs: %s is a follow-mode trace; classic kcov's PCs are recorded for one task only", args[0])
			}
			var seen traced
			if fl != nil {
				seen = fl.scan()
			} else {
				seen = src.scan()
			}
			warning, _ := src.names.check(seen.pcs)
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
			sh := &shower{w: out, nm: src.namer(), match: src.namer(), re: re, depth: sf.depth, errs: sf.errors, preds: preds,
				color: useColor(sf.color, cmd.OutOrStdout()), asJSON: sf.asJSON}
			if rt != nil {
				sh.nm.Redact = rt // --where compares the words themselves
			}
			if !sf.asJSON {
				// Fields past --max-fields are not shown: they are not
				// rendered either. --where looks at all of them.
				sh.nm.MaxFields = max(sf.fields, 0)
			}
			if fl != nil {
				return showFollow(cmd, src, fl, sh, out, warning, preds)
			}
			d := abi.NewDecoder(src.trace.Words, src.opt)
			opts := calls.Options{Full: src.trace.Meta.Overflowed, Markers: seen.markers}
			var end *calls.Tree
			if sf.pcs {
				switch {
				case src.trace.Meta.Kcov == nil:
					return fmt.Errorf("--pcs: %s has no classic kcov coverage; record it with \"kcovdf record --kcov\"", args[0])
				case src.names == nil || src.names.ix == nil:
					return fmt.Errorf("--pcs: kcov's PCs are placed on calls by their functions: pass --symbols with the traced kernel's vmlinux")
				}
				// Lining kcov's PCs up with the calls needs the whole
				// tree, so --pcs does not stream.
				end = calls.Build(src.trace.Words, d, opts)
				sh.v.pcs = src.callPCs(end, src.alignKcov(end))
				err = sh.tree(end)
			} else {
				end, err = calls.Stream(src.trace.Words, d, opts, sh.tree)
			}
			if err != nil {
				return err
			}
			if err := out.Flush(); err != nil {
				return err
			}
			printShowNotes(cmd.ErrOrStderr(), src, end.Notes, warning, preds, d.Summary())
			return src.fileErr
		},
	}
	in.register(cmd)
	rf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&sf.funcRE, "func", "", "show only calls of functions matching this regular expression, with their callees")
	f.IntVar(&sf.depth, "depth", 0, "show callees down to this depth below each shown call (0: all)")
	f.BoolVar(&sf.errors, "errors", false, "show only calls that returned an errno or ERR_PTR, with their callers")
	f.StringArrayVar(&sf.where, "where", nil, "show only calls whose argument, field or return matches (name==value, !=, <, <=, >, >=; e.g. count==4096, how.flags==0x8000, ret==-ENOENT), with their callers")
	f.BoolVar(&sf.asJSON, "json", false, "one JSON object per call")
	f.StringVar(&sf.color, "color", "auto", "colour: auto (on a terminal), always or never")
	f.IntVar(&sf.fields, "max-fields", 8, "show at most this many fields of a struct argument (0: all)")
	registerTask(cmd, &task)
	f.BoolVar(&sf.pcs, "pcs", false, "show classic kcov's PCs that ran inside each call (a trace recorded with --kcov; needs --symbols)")
	return cmd
}

// printShowNotes prints what show has to say after the calls: the setup,
// the call trees' notes, the symbols' warning, --where conditions that
// named nothing, the anomalies.
func printShowNotes(ew io.Writer, src *input, notes []string, warning string, preds []*wherePred, sum *abi.Summary) {
	printSetup(ew, src)
	for _, n := range notes {
		fmt.Fprintln(ew, "note:", n)
	}
	if warning != "" {
		fmt.Fprintln(ew, "warning:", warning)
	}
	for _, p := range preds {
		if !p.named {
			fmt.Fprintf(ew, "warning: --where %q: no call has an argument, field or return named %s\n", p.text, strings.Join(p.path, "."))
		}
	}
	printAnomalies(ew, sum, 10)
}

// namer gives the calls package what the input resolved.
func (in *input) namer() *calls.Namer {
	nm := &calls.Namer{}
	if in.names != nil {
		nm.Index, nm.Space, nm.Layout = in.names.ix, in.names.space, in.names.binding
	}
	return nm
}

// maxUnnamed is the share of traced functions the symbols may fail to
// name before their names are not trusted at all: a vmlinux of another
// build names some addresses by chance, and those names would be wrong.
const maxUnnamed = 0.10

// check tells how many traced functions the symbols do not name; past
// maxUnnamed the names are dropped (trusted false) and the warning says so.
func (n *names) check(pcs map[uint64]bool) (warning string, trusted bool) {
	if n == nil || n.ix == nil || len(pcs) == 0 {
		return "", true
	}
	unnamed := 0
	for pc := range pcs {
		if n.ix.At(n.space.Link(pc)) == nil {
			unnamed++
		}
	}
	if unnamed == 0 {
		return "", true
	}
	rate := float64(unnamed) / float64(len(pcs))
	w := fmt.Sprintf("%d of %d traced functions (%.1f%%) start at no function of %s", unnamed, len(pcs), 100*rate, n.ix.Path)
	if rate > maxUnnamed {
		n.ix, n.binding = nil, nil
		return w + ": it is not the traced kernel's vmlinux, or the KASLR offset is wrong; its names are not shown", false
	}
	return w, true
}

func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// shower prints the calls of one top-level call at a time, as
// calls.Stream hands them over; what it keeps is reused from one to the
// next.
type shower struct {
	w  *bufio.Writer
	nm *calls.Namer // what is shown, up to --max-fields
	// match renders every field, for --where.
	match  *calls.Namer
	re     *regexp.Regexp
	depth  int
	errs   bool
	preds  []*wherePred
	color  bool
	asJSON bool

	v       view
	inBlock []bool
	stack   []int
	line    []byte
}

// view is which calls of a tree are shown and at which indentation.
type view struct {
	show   []bool
	base   []int32 // depth of the shown block's root
	hasKid []bool
	// pcs gives a call's kcov PCs and how many of them are guesses; nil
	// without --pcs.
	pcs func(i int) (pcs []string, guessed int)
	// tid is the task whose calls these are, in a follow-mode trace.
	tid int
}

func (s *shower) tree(t *calls.Tree) error {
	s.selectCalls(t)
	if s.asJSON {
		return printJSON(s.w, t, s.nm, &s.v)
	}
	return s.printGraph(t)
}

// resize returns b with n zero elements, reusing its memory.
func resize[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	b = b[:n]
	clear(b)
	return b
}

func (s *shower) selectCalls(t *calls.Tree) {
	n := len(t.Calls)
	v := &s.v
	v.show, v.base, v.hasKid = resize(v.show, n), resize(v.base, n), resize(v.hasKid, n)
	// Blocks: subtrees of the calls --func selects, or everything.
	s.inBlock = resize(s.inBlock, n)
	inBlock := s.inBlock
	for i := 0; i < n; {
		c := &t.Calls[i]
		if s.re != nil && !s.re.MatchString(s.nm.Func(c.PC).Name) {
			i++
			continue
		}
		for j := i; j < int(c.End); j++ {
			if s.depth > 0 && t.Calls[j].Depth-c.Depth >= int32(s.depth) {
				continue
			}
			inBlock[j] = true
			if s.re != nil {
				v.base[j] = c.Depth
			}
		}
		i = int(c.End)
	}
	if !s.errs && len(s.preds) == 0 {
		copy(v.show, inBlock)
	} else {
		for i := n - 1; i >= 0; i-- {
			if !inBlock[i] {
				continue
			}
			if (s.errs && s.nm.IsErr(t, i)) || (len(s.preds) > 0 && matchAll(t, s.match, i, s.preds)) {
				// The call and its callers up to its block's root.
				for j := int32(i); j >= 0 && inBlock[j] && !v.show[j]; j = t.Calls[j].Parent {
					v.show[j] = true
				}
			}
		}
	}
	for i := range t.Calls {
		if p := t.Calls[i].Parent; v.show[i] && p >= 0 && v.show[p] {
			v.hasKid[p] = true
		}
	}
}

const (
	ansiFunc  = "\x1b[36m"
	ansiErr   = "\x1b[31m"
	ansiWarn  = "\x1b[33m"
	ansiReset = "\x1b[0m"
)

// paint appends text in colour when colour is on.
func (s *shower) paint(b []byte, code, text string) []byte {
	if !s.color {
		return append(b, text...)
	}
	b = append(b, code...)
	b = append(b, text...)
	return append(b, ansiReset...)
}

func (s *shower) indent(b []byte, t *calls.Tree, i int) []byte {
	for range t.Calls[i].Depth - s.v.base[i] {
		b = append(b, "  "...)
	}
	return b
}

func (s *shower) printGraph(t *calls.Tree) error {
	s.stack = s.stack[:0]
	b := s.line[:0]
	// closeTo closes the open blocks that end before call i (i < 0: all).
	closeTo := func(i int) {
		for len(s.stack) > 0 && (i < 0 || int(t.Calls[s.stack[len(s.stack)-1]].End) <= i) {
			k := s.stack[len(s.stack)-1]
			s.stack = s.stack[:len(s.stack)-1]
			b = s.indent(b, t, k)
			b = append(b, '}')
			b = s.retSuffix(b, t, k)
			b = append(b, '\n')
		}
	}
	for i := range t.Calls {
		if !s.v.show[i] {
			continue
		}
		closeTo(i)
		c := &t.Calls[i]
		fi := s.nm.Func(c.PC)
		b = s.indent(b, t, i)
		if c.Flags&calls.NoEntry != 0 {
			b = s.paint(b, ansiWarn, "?")
		}
		b = s.paint(b, ansiFunc, fi.NameOr(c.PC))
		b = append(b, '(')
		for k, a := range s.nm.Args(t, i) {
			if k > 0 {
				b = append(b, ", "...)
			}
			b = append(b, a.Name...)
			b = append(b, '=')
			b = s.value(b, a)
		}
		b = append(b, ')')
		if s.v.hasKid[i] {
			b = append(b, " {"...)
			s.stack = append(s.stack, i)
		} else {
			b = s.retSuffix(b, t, i)
			b = append(b, ';')
		}
		b = append(b, '\n')
		if s.v.pcs != nil {
			if pcs, guessed := s.v.pcs(i); len(pcs) > 0 {
				b = s.indent(b, t, i)
				b = fmt.Appendf(b, "  /* kcov %d pcs", len(pcs))
				if guessed > 0 {
					b = fmt.Appendf(b, " (%d guessed)", guessed)
				}
				b = fmt.Appendf(b, ": %s */\n", strings.Join(pcs, " "))
			}
		}
		if len(b) > 32<<10 {
			if _, err := s.w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	closeTo(-1)
	s.line = b[:0]
	_, err := s.w.Write(b)
	return err
}

// value appends a rendered value, with <fault> painted.
func (s *shower) value(b []byte, r calls.Rendered) []byte {
	if !s.color || !strings.Contains(r.Text, "<fault>") {
		return append(b, r.Text...)
	}
	return append(b, strings.ReplaceAll(r.Text, "<fault>", ansiWarn+"<fault>"+ansiReset)...)
}

func (s *shower) retSuffix(b []byte, t *calls.Tree, i int) []byte {
	c := &t.Calls[i]
	if c.Flags&calls.NoReturn != 0 {
		return s.paint(b, ansiWarn, " /* no return */")
	}
	r, ok := s.nm.Ret(t, i)
	if !ok {
		return b
	}
	b = append(b, " = "...)
	if r.Errno != 0 {
		return s.paint(b, ansiErr, r.Text)
	}
	return s.value(b, r)
}

// callJSON is the JSON form of one call.
type callJSON struct {
	// Tid is the task that made the call, in a follow-mode trace.
	Tid    int              `json:"tid,omitempty"`
	Index  int              `json:"index"`
	Parent int32            `json:"parent"`
	Depth  int32            `json:"depth"`
	Seq    uint32           `json:"seq"`
	PC     string           `json:"pc"`
	Func   string           `json:"func,omitempty"`
	File   string           `json:"file,omitempty"`
	Line   int              `json:"line,omitempty"`
	Args   []calls.Rendered `json:"args"`
	Ret    *calls.Rendered  `json:"ret,omitempty"`
	Flags  []string         `json:"flags,omitempty"`
	// PCs are classic kcov's PCs placed in the call (--pcs); a guessed
	// one ends in "?".
	PCs []string `json:"kcov_pcs,omitempty"`
}

func printJSON(w *bufio.Writer, t *calls.Tree, nm *calls.Namer, v *view) error {
	enc := json.NewEncoder(w)
	for i := range t.Calls {
		if !v.show[i] {
			continue
		}
		c := &t.Calls[i]
		fi := nm.Func(c.PC)
		parent := c.Parent
		if parent >= 0 {
			parent += int32(t.First)
		}
		j := callJSON{Tid: v.tid, Index: t.First + i, Parent: parent, Depth: c.Depth, Seq: c.Seq, PC: nm.Hex(c.PC), Func: fi.Name, Args: nm.Args(t, i)}
		if j.Args == nil {
			j.Args = []calls.Rendered{}
		}
		if fi.Func != nil {
			j.File, j.Line = fi.Func.File, fi.Func.Line
		}
		if r, ok := nm.Ret(t, i); ok {
			j.Ret = &r
		}
		if v.pcs != nil {
			j.PCs, _ = v.pcs(i)
		}
		for bit, name := range []string{"no-return", "no-entry", "unsure", "errno"} {
			if c.Flags&(1<<bit) != 0 {
				j.Flags = append(j.Flags, name)
			}
		}
		if err := enc.Encode(&j); err != nil {
			return err
		}
	}
	return nil
}

// wherePred is one --where condition.
type wherePred struct {
	text  string
	path  []string // "count", "how.flags", "ret"
	op    string
	value string
	// named: some call had an argument, field or return of that name.
	named bool
}

var whereRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.\[\]]*)\s*(==|!=|<=|>=|<|>|=)\s*(.+?)\s*$`)

func parseWhere(s string) (*wherePred, error) {
	m := whereRE.FindStringSubmatch(s)
	if m == nil || strings.ContainsAny(m[3][:1], "=<>!") {
		return nil, fmt.Errorf("--where %q: want NAME OP VALUE with OP one of ==, !=, <, <=, >, >=, e.g. count==4096, how.flags==0x8000 or ret==-ENOENT", s)
	}
	op := m[2]
	if op == "=" {
		op = "=="
	}
	return &wherePred{text: s, path: strings.Split(m[1], "."), op: op, value: m[3]}, nil
}

func matchAll(t *calls.Tree, nm *calls.Namer, i int, preds []*wherePred) bool {
	all := true
	for _, p := range preds {
		// Every condition is tried, so that each learns whether its
		// name exists.
		if !p.match(t, nm, i) {
			all = false
		}
	}
	return all
}

func (p *wherePred) match(t *calls.Tree, nm *calls.Namer, i int) bool {
	var vals []calls.Rendered
	if p.path[0] == "ret" || p.path[0] == "return" {
		r, ok := nm.Ret(t, i)
		if !ok {
			return false
		}
		r.Name = p.path[0]
		vals = []calls.Rendered{r}
	} else {
		vals = nm.Args(t, i)
	}
	for _, r := range vals {
		if r.Name != p.path[0] {
			continue
		}
		text := r.Text
		if len(p.path) > 1 {
			found := false
			for _, f := range r.Fields {
				if f.Name == p.path[1] {
					text, found = f.Text, true
				}
			}
			if !found {
				return false
			}
		}
		p.named = true
		return compare(text, p.op, p.value)
	}
	return false
}

// numeric reads a rendered value or a user's value as a number.
func numeric(s string) (int64, bool) {
	switch s {
	case "NULL", "false":
		return 0, true
	case "true":
		return 1, true
	}
	if strings.HasPrefix(s, "-E") {
		if v, ok := calls.ErrnoValue(s[1:]); ok {
			return -v, true
		}
	}
	if strings.HasPrefix(s, "ERR_PTR(-E") && strings.HasSuffix(s, ")") {
		if v, ok := calls.ErrnoValue(s[9 : len(s)-1]); ok {
			return -v, true
		}
	}
	if v, err := strconv.ParseInt(s, 0, 64); err == nil {
		return v, true
	}
	if v, err := strconv.ParseUint(s, 0, 64); err == nil {
		return int64(v), true
	}
	return 0, false
}

func compare(have, op, want string) bool {
	a, aok := numeric(have)
	b, bok := numeric(want)
	if !aok || !bok {
		switch op {
		case "==":
			return have == want
		case "!=":
			return have != want
		}
		return false
	}
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}
