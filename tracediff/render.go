package tracediff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kcovdf/kcovdf/calls"
)

// shownFields is how many fields of a struct a one-line call shows.
const shownFields = 3

func (d *differ) ref(t *Task, i int, text bool) CallRef {
	c := &t.Tree.Calls[i]
	r := CallRef{Index: i, Seq: c.Seq, Func: funcName(t, c.PC)}
	if text {
		r.Text = callText(t, i)
	}
	return r
}

// callText is a call on one line: name(arg=value, ...) = ret.
func callText(t *Task, i int) string {
	var b strings.Builder
	b.WriteString(funcName(t, t.Tree.Calls[i].PC))
	b.WriteByte('(')
	for k, a := range t.Namer.Args(t.Tree, i) {
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Name)
		b.WriteByte('=')
		b.WriteString(short(a))
	}
	b.WriteByte(')')
	c := &t.Tree.Calls[i]
	if c.Flags&calls.NoReturn != 0 {
		b.WriteString(" /* no return */")
	} else if r, ok := t.Namer.Ret(t.Tree, i); ok {
		b.WriteString(" = ")
		b.WriteString(short(r))
	}
	return b.String()
}

func short(r calls.Rendered) string { return r.Short(shownFields) }

func (d *differ) render(r *rawDiff) Difference {
	x, y := int(r.a), int(r.b)
	df := Difference{Kind: r.kind, Origin: r.origin, Depth: int(r.depth), Path: path(d.a, x), A: d.ref(d.a, x, false), B: d.ref(d.b, y, false)}
	argsA, argsB := d.a.Namer.Args(d.a.Tree, x), d.b.Namer.Args(d.b.Tree, y)
	retA, okA := d.a.Namer.Ret(d.a.Tree, x)
	retB, okB := d.b.Namer.Ret(d.b.Tree, y)
	pick := func(args []calls.Rendered, ret calls.Rendered, ok bool, arg int) (calls.Rendered, bool) {
		if arg < 0 {
			ret.Name = "ret"
			return ret, ok
		}
		if arg < len(args) {
			return args[arg], true
		}
		return calls.Rendered{}, false
	}
	for _, w := range r.what {
		ra, hasA := pick(argsA, retA, okA, w.arg)
		rb, hasB := pick(argsB, retB, okB, w.arg)
		name := ra.Name
		if !hasA {
			name = rb.Name
		}
		v := ValueDiff{Name: name, A: "(none)", B: "(none)"}
		text := func(r calls.Rendered, has bool) string {
			switch {
			case !has:
				return "(none)"
			case w.word == -1 && strings.HasPrefix(r.Text, "{"):
				return "0x" + strconv.FormatUint(r.Raw, 16)
			case w.word < 0:
				return short(r)
			case w.word < len(r.Fields):
				return r.Fields[w.word].Text
			}
			return r.Text
		}
		if w.word >= 0 && w.word < len(ra.Fields) {
			v.Name = name + "." + ra.Fields[w.word].Name
		}
		v.A, v.B = text(ra, hasA), text(rb, hasB)
		df.Values = append(df.Values, v)
	}
	return df
}

// WriteText writes the comparison for a reader: per task, the counts, the
// first divergence and the differing calls.
func WriteText(w io.Writer, res *Result) error {
	b := bufio.NewWriter(w)
	for i := range res.Tasks {
		t := &res.Tasks[i]
		fmt.Fprintf(b, "--- A %s: %d calls\n+++ B %s: %d calls\n", t.A, t.CallsA, t.B, t.CallsB)
		fmt.Fprintf(b, "aligned %d calls; only in A %d, only in B %d; %s in values\n", t.Aligned, t.OnlyA, t.OnlyB, count(t.Differing, "aligned call differs", "aligned calls differ"))
		if t.SkippedA+t.SkippedB > 0 {
			fmt.Fprintf(b, "left out as asked: %d calls of A, %d of B, callees included\n", t.SkippedA, t.SkippedB)
		}
		if t.Greedy > 0 {
			fmt.Fprintf(b, "(%d lists of sibling calls were too far apart to align exactly, and were aligned greedily)\n", t.Greedy)
		}
		for k, dv := range t.Divergences {
			where := "at the top level"
			if len(dv.Path) > 0 {
				where = "in " + strings.Join(dv.Path, " > ")
			}
			if k == 0 {
				fmt.Fprintf(b, "\nfirst divergence %s", where)
			} else {
				if k == 1 {
					fmt.Fprintf(b, "\n%d places in all where the calls differ; the largest others:\n", t.DivergenceCount)
				}
				fmt.Fprintf(b, "%d. %s", k+1, where)
			}
			if dv.After != nil {
				fmt.Fprintf(b, ", after %s (A seq %d)", dv.After.Func, dv.After.Seq)
			}
			if k > 0 {
				fmt.Fprintf(b, ": A made %s, B made %s (%s with their callees)\n", funcs(dv.OnlyA, dv.CountA), funcs(dv.OnlyB, dv.CountB), count(dv.Calls, "call", "calls"))
				continue
			}
			b.WriteString(":\n")
			side := func(sign string, refs []CallRef, count int) {
				for _, r := range refs {
					fmt.Fprintf(b, "%s %s  [seq %d]\n", sign, r.Text, r.Seq)
				}
				if count > len(refs) {
					fmt.Fprintf(b, "%s ... %d more\n", sign, count-len(refs))
				}
				if count == 0 {
					fmt.Fprintf(b, "%s (no call)\n", sign)
				}
			}
			side("-", dv.OnlyA, dv.CountA)
			side("+", dv.OnlyB, dv.CountB)
		}
		if n := t.DivergenceCount - len(t.Divergences); n > 0 {
			fmt.Fprintf(b, "... %s where the calls differ (--top 0 lists all)\n", count(n, "more place", "more places"))
		}
		if len(t.Differences) > 0 {
			fmt.Fprintf(b, "\ndiffering calls, most telling first (errno, then nearer the system call, then more values):\n")
		}
		for k, df := range t.Differences {
			kind := df.Kind.String()
			if df.Origin {
				kind += " (starts here)"
			}
			fmt.Fprintf(b, "%d. %s  %s  [A seq %d, B seq %d]\n", k+1, kind, strings.Join(df.Path, " > "), df.A.Seq, df.B.Seq)
			for _, v := range df.Values {
				fmt.Fprintf(b, "     %s: %s -> %s\n", v.Name, v.A, v.B)
			}
		}
		if n := t.Differing - len(t.Differences); n > 0 {
			fmt.Fprintf(b, "... %s (--top 0 lists all)\n", count(n, "more differing call", "more differing calls"))
		}
		if i < len(res.Tasks)-1 {
			b.WriteByte('\n')
		}
	}
	return b.Flush()
}

// jsonTask adds the labels WriteJSON shows.
type jsonTask struct {
	A string `json:"a"`
	B string `json:"b"`
	TaskResult
}

// WriteJSON writes the comparison as one JSON object.
func WriteJSON(w io.Writer, res *Result) error {
	out := struct {
		Equal bool       `json:"equal"`
		Tasks []jsonTask `json:"tasks"`
	}{Equal: res.Equal, Tasks: []jsonTask{}}
	for _, t := range res.Tasks {
		out.Tasks = append(out.Tasks, jsonTask{A: t.A, B: t.B, TaskResult: t})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&out)
}

// funcs lists the functions of refs: "f, g and 3 more", or "nothing".
func funcs(refs []CallRef, count int) string {
	if count == 0 {
		return "nothing"
	}
	var names []string
	for _, r := range refs {
		names = append(names, r.Func)
	}
	s := strings.Join(names, ", ")
	if count > len(refs) {
		s += fmt.Sprintf(" and %d more", count-len(refs))
	}
	return s
}

// count says "1 call", "2 calls".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
