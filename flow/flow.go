package flow

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
)

// Match is one place a call held the value: an argument, one of its
// fields, the return value or one of its fields.
type Match struct {
	// Tid is the task that made the call, in a follow-mode trace (the
	// caller sets it: a tree is one task's).
	Tid int `json:"tid,omitempty"`
	// Exec is the task's program the call ran in: 0 before its first
	// execve, n after its nth. Call indexes that program's tree.
	Exec  int    `json:"exec,omitempty"`
	Call  int    `json:"call"` // index in the tree, pre-order
	Seq   uint32 `json:"seq"`  // sequence number of the call's first record
	Depth int    `json:"depth"`
	// Path is the functions from the root-most frame (the system call or
	// the fault that started it) down to the call, the call included.
	Path []string `json:"path"`
	Func string   `json:"func"`
	// Name is what held the value: "fd", "how.flags", "ret", "ret.f_mode";
	// a pointer to an expanded struct is named as the argument.
	Name   string `json:"name"`
	Return bool   `json:"return"`
	// Text is the value as show renders it; Raw the captured word.
	Text  string `json:"text"`
	Raw   uint64 `json:"raw"`
	Width uint8  `json:"width"`
	Form  Form   `json:"form"`

	path []int32 // the calls of Path
	key  int64   // event order: an entry at its call, a return after its callees
}

// Result is every match of one value in one tree, in the order the
// kernel produced the values.
type Result struct {
	Value   uint64   `json:"value"`
	Forms   []string `json:"forms"`
	Skipped []string `json:"skipped,omitempty"`
	Matches []Match  `json:"matches"`
	Calls   int      `json:"calls"` // distinct calls among the matches
}

type slotKey struct {
	pc  uint64
	idx uint8
	ret bool
	n   uint16
}

// Find looks for m's value in every argument, field and return of t.
// Raw words are searched first; only the calls that hold the value are
// rendered, so that a full trace is searched in about the time it takes
// to read it.
func Find(t *calls.Tree, nm *calls.Namer, m *Matcher) *Result {
	res := &Result{Value: m.Value, Forms: m.Forms(), Skipped: m.Skipped, Matches: []Match{}}
	cache := map[slotKey]calls.Slots{}
	slots := func(i int, v *calls.Value, ret bool) calls.Slots {
		k := slotKey{t.Calls[i].PC, v.Idx, ret, uint16(len(t.Words(v)))}
		s, ok := cache[k]
		if !ok {
			s = nm.SlotsOf(t, i, v, ret)
			cache[k] = s
		}
		return s
	}
	type hit struct {
		v     *calls.Value
		argN  int // position among the call's non-marker values; -1: return
		word  int // -1: the pointer itself
		form  Form
		width uint8
		raw   uint64
	}
	var hits []hit
	scan := func(i int, v *calls.Value, argN int, ret bool) {
		words := t.Words(v)
		if len(words) == 0 {
			return
		}
		s := slots(i, v, ret)
		if s.PtrIsValue {
			if f, ok := m.Match(v.Ptr, 8); ok {
				hits = append(hits, hit{v, argN, -1, f, 8, v.Ptr})
			}
			if v.Ptr == 0 || abi.IsErrPtr(v.Ptr) {
				return // NULL or ERR_PTR: the fields were not read
			}
		}
		for k, w := range words {
			if w == abi.BadAddr && s.Fields {
				continue // a field the kernel could not read
			}
			if f, ok := m.MatchUnsigned(w, s.Words[k].Width, s.Words[k].Unsigned); ok {
				hits = append(hits, hit{v, argN, k, f, s.Words[k].Width, w})
			}
		}
	}
	for i := range t.Calls {
		hits = hits[:0]
		args := t.Args(i)
		n := 0
		for k := range args {
			if args[k].Marker() {
				continue
			}
			scan(i, &args[k], n, false)
			n++
		}
		c := &t.Calls[i]
		if c.HasRet && !c.Ret.Marker() {
			scan(i, &c.Ret, -1, true)
		}
		if len(hits) == 0 {
			continue
		}
		res.Calls++
		path, ids := pathOf(t, nm, i)
		rendered := nm.Args(t, i)
		for _, h := range hits {
			var r calls.Rendered
			if h.argN < 0 {
				r, _ = nm.Ret(t, i)
				r.Name = "ret"
			} else if h.argN < len(rendered) {
				r = rendered[h.argN]
			}
			mt := Match{Call: i, Seq: c.Seq, Depth: int(c.Depth), Path: path, Func: path[len(path)-1],
				Return: h.argN < 0, Raw: h.raw, Width: h.width, Form: h.form, path: ids}
			switch {
			case h.word < 0 || len(t.Words(h.v)) == 1 && len(r.Fields) == 0:
				mt.Name, mt.Text = r.Name, r.Text
				if h.word < 0 && strings.HasPrefix(r.Text, "{") {
					mt.Text = "0x" + strconv.FormatUint(h.raw, 16)
				}
			case h.word < len(r.Fields):
				mt.Name, mt.Text = r.Name+"."+r.Fields[h.word].Name, r.Fields[h.word].Text
			default:
				mt.Name, mt.Text = fmt.Sprintf("%s[%d]", r.Name, h.word), "0x"+strconv.FormatUint(h.raw, 16)
			}
			if mt.Return {
				// After its callees, deeper returns first.
				mt.key = int64(c.End)<<17 - int64(c.Depth)
			} else {
				mt.key = int64(i)<<17 + 1<<16
			}
			res.Matches = append(res.Matches, mt)
		}
	}
	sort.SliceStable(res.Matches, func(a, b int) bool { return res.Matches[a].key < res.Matches[b].key })
	return res
}

func pathOf(t *calls.Tree, nm *calls.Namer, i int) ([]string, []int32) {
	var ids []int32
	for j := int32(i); j >= 0; j = t.Calls[j].Parent {
		ids = append(ids, j)
	}
	names := make([]string, len(ids))
	for a, b := 0, len(ids)-1; a < b; a, b = a+1, b-1 {
		ids[a], ids[b] = ids[b], ids[a]
	}
	for k, j := range ids {
		names[k] = nm.Func(t.Calls[j].PC).NameOr(t.Calls[j].PC)
	}
	return names, ids
}

// WriteText writes the matches as a chain through the call tree: the
// frames leading to each match are printed once, indented by depth, as
// show prints calls, and each match names what held the value, its text
// and its form.
func WriteText(w io.Writer, r *Result) error {
	b := bufio.NewWriter(w)
	forms := strings.Join(r.Forms, ", ")
	if forms == "" {
		forms = "nothing, every form is too weak without --small"
	}
	fmt.Fprintf(b, "value %s: %s in %s (looked for: %s)\n", valueText(r.Value), count(len(r.Matches), "match", "matches"), count(r.Calls, "call", "calls"), forms)
	var prev []int32
	for _, m := range r.Matches {
		common := 0
		for common < len(prev) && common < len(m.path) && prev[common] == m.path[common] {
			common++
		}
		if common == len(m.path) {
			common-- // the call itself is printed again with this match
		}
		for k := common; k < len(m.path)-1; k++ {
			fmt.Fprintf(b, "%s%s\n", strings.Repeat("  ", k), m.Path[k])
		}
		fmt.Fprintf(b, "%s%s: %s = %s  [%s, seq %d]\n", strings.Repeat("  ", len(m.path)-1), m.Func, m.Name, m.Text, m.Form, m.Seq)
		prev = m.path
	}
	return b.Flush()
}

// WriteJSON writes one JSON object per match.
func WriteJSON(w io.Writer, r *Result) error {
	b := bufio.NewWriter(w)
	enc := json.NewEncoder(b)
	for i := range r.Matches {
		if err := enc.Encode(&r.Matches[i]); err != nil {
			return err
		}
	}
	return b.Flush()
}

func valueText(v uint64) string {
	h := "0x" + strconv.FormatUint(v, 16)
	switch s := int64(v); {
	case s < -4095:
		return h // an address, or a pattern: hex says it best
	case s < 0:
		if n := calls.ErrnoName(-s); n != "" {
			return "-" + n + " (" + strconv.FormatInt(s, 10) + ") = " + h
		}
		return strconv.FormatInt(s, 10) + " = " + h
	}
	return strconv.FormatUint(v, 10) + " = " + h
}

// count says "1 call", "2 calls".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
