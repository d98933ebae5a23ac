package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// area encodes records as a v2 buffer, numbering them from 1.
func area(recs []abi.Record) []uint64 {
	w := []uint64{0}
	for i := range recs {
		recs[i].Seq = uint32(i + 1)
		w = abi.EncodeV2(w, &recs[i])
	}
	w[0] = uint64(len(w) - 1)
	return w
}

func entry(pc uint64, idx, size uint8, v ...uint64) abi.Record {
	return abi.Record{Kind: abi.KindEntry, PC: pc, ArgIdx: idx, Size: size, Values: v}
}

// entryAt is the entry of a struct pointer argument.
func entryAt(pc uint64, idx uint8, ptr uint64, v ...uint64) abi.Record {
	return abi.Record{Kind: abi.KindEntry, PC: pc, ArgIdx: idx, Size: 8, Ptr: ptr, Values: v}
}

func ret(pc uint64, size uint8, v uint64) abi.Record {
	return abi.Record{Kind: abi.KindReturn, PC: pc, Size: size, Values: []uint64{v}}
}

// smallTask is a task of the debuginfo fixture's functions, named and
// typed by its DWARF: do_open calls set_flags and by_value, by_value
// fails with -ENOENT, and set_flags runs again after with an ERR_PTR.
func smallTask(t testing.TB) Task {
	t.Helper()
	ix, err := debuginfo.Open("../debuginfo/testdata/fixture.elf", debuginfo.Options{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	pc := map[string]uint64{}
	for _, f := range ix.Funcs {
		pc[f.Name] = f.Low
	}
	neg := func(v int64) uint64 { return uint64(v) }
	recs := []abi.Record{
		entry(pc["do_open"], 0, 4, 0xffffff9c), entry(pc["do_open"], 1, 8, 0x7ffe0010),
		entryAt(pc["do_open"], 2, 0xffff888000001000, 0x8000, 0, 0),
		entryAt(pc["set_flags"], 0, 0xffff888000002000, 0xdb, 0xdb, 0x1db, 7, abi.BadAddr),
		entry(pc["set_flags"], 1, 4, 3), entry(pc["set_flags"], 2, 2, 0644), ret(pc["set_flags"], 1, 1),
		entry(pc["by_value"], 0, 24, 1, 2, 3), ret(pc["by_value"], 8, neg(-2)),
		ret(pc["do_open"], 8, 0x8000),
		entryAt(pc["set_flags"], 0, neg(-12), abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr),
		entry(pc["set_flags"], 1, 4, 7), entry(pc["set_flags"], 2, 2, 0), ret(pc["set_flags"], 1, 0),
		entry(pc["by_value"], 0, 24, 1, 2, 3), ret(pc["by_value"], 8, neg(-2)),
	}
	words := area(recs)
	tree := calls.Build(words, abi.NewDecoder(words, abi.Options{Format: abi.FormatV2, PCMin: 1, PCMax: ^uint64(0)}), calls.Options{})
	meta := &abi.Meta{Format: abi.FormatV2, KernelRelease: "6.12.0-kcovdf", BufferWords: 256, Fill: words[0], Command: []string{"cat", "/etc/passwd"}, Source: "test"}
	return Task{Name: "small.kdf", Meta: meta, Tree: tree, Namer: &calls.Namer{Index: ix}}
}

// dataOf finds the page's embedded JSON and decodes it.
func dataOf(page []byte) (*Data, error) {
	open := []byte(`<script type="application/json" id="` + DataID + `">`)
	i := bytes.Index(page, open)
	if i < 0 {
		return nil, errors.New("no data element")
	}
	rest := page[i+len(open):]
	j := bytes.Index(rest, []byte("</script>"))
	if j < 0 {
		return nil, errors.New("data element not closed")
	}
	var d Data
	dec := json.NewDecoder(bytes.NewReader(rest[:j]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

func page(t testing.TB, tasks []Task, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, tasks, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden: the data of a small trace, as embedded, against a golden
// file, and the values the report must hold checked one by one.
func TestGolden(t *testing.T) {
	p := page(t, []Task{smallTask(t)}, Options{Title: "small <trace>"})
	d, err := dataOf(p)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(d, "", " ")
	golden := filepath.Join("testdata", "small.json")
	if *update {
		os.WriteFile(golden, append(got, '\n'), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("data differs from %s (go test ./report -update rewrites it):\n%s", golden, got)
	}

	// The calls, rendered back from the columns as the page's script does.
	tk := d.Tasks[0]
	var lines []string
	a := 0
	for i := range tk.Fn {
		var args []string
		for _, nt := range d.Sigs[tk.Sig[i]].Args {
			args = append(args, nt[0]+"="+d.Strs[tk.Args[a]])
			a++
		}
		s := fmt.Sprintf("%d:%s(%s)", tk.Size[i], d.Funcs[tk.Fn[i]].Name, strings.Join(args, ", "))
		if tk.Ret[i] >= 0 {
			s += " = " + d.Strs[tk.Ret[i]]
		}
		if tk.Flag[i]&uint16(calls.Errno) != 0 {
			s += " !"
		}
		lines = append(lines, s)
	}
	wantLines := []string{
		"2:do_open(dfd=-100, filename=0x7ffe0010, how={flags=0x8000, mode=0, resolve=0}) = 32768",
		"0:set_flags(f={ro=1, mode=5, delta=-3, tail=7, inner=<fault>}, s=STATE_RUN, mode=0644) = true",
		"0:by_value(how={flags=0x1, mode=2, resolve=3}) = -ENOENT !",
		"0:set_flags(f=ERR_PTR(-ENOMEM), s=7, mode=0) = false",
		"0:by_value(how={flags=0x1, mode=2, resolve=3}) = -ENOENT !",
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	if len(tk.Seq) != 5 || tk.Seq[0] != 1 || tk.Seq[1] != 4 {
		t.Errorf("seq %v", tk.Seq)
	}

	// Statistics: set_flags twice, by_value twice with both failing.
	stats := map[string]FuncStats{}
	for _, s := range d.Stats {
		stats[d.Funcs[s.Func].Name] = s
	}
	if s := stats["by_value"]; s.Calls != 2 || s.Errors != 2 {
		t.Errorf("by_value stats %+v", s)
	}
	hist := func(fn, name string) ValueHist {
		for _, v := range stats[fn].Values {
			if v.Name == name {
				return v
			}
		}
		t.Fatalf("%s: no histogram %s in %+v", fn, name, stats[fn].Values)
		return ValueHist{}
	}
	if h := hist("set_flags", "s"); h.N != 2 || h.Distinct != 2 || h.Top[0].Text != "STATE_RUN" && h.Top[1].Text != "STATE_RUN" {
		t.Errorf("set_flags s: %+v", h)
	}
	if h := hist("by_value", "how.mode"); h.N != 2 || h.Distinct != 1 || h.Top[0] != (TopValue{"2", 2}) {
		t.Errorf("by_value how.mode: %+v", h)
	}
	if h := hist("do_open", "dfd"); h.Top[0].Text != "-100" {
		t.Errorf("do_open dfd: %+v", h)
	}
	if len(d.Errnos) != 1 || d.Errnos[0].Errno != "ENOENT" || d.Errnos[0].Count != 2 || d.Funcs[d.Errnos[0].Func].Name != "by_value" {
		t.Errorf("errnos %+v", d.Errnos)
	}
	if d.Title != "small <trace>" || !bytes.Contains(p, []byte("<title>small &lt;trace&gt;</title>")) {
		t.Errorf("title not escaped: %q", d.Title)
	}
}

// TestLog2Buckets: wide numeric ranges get log2 buckets, negatives by
// their sign-extended value; few values and struct pointers none.
func TestLog2Buckets(t *testing.T) {
	h := &hist{byRaw: map[uint64]int32{}, scalar: true}
	for _, v := range []struct {
		raw  uint64
		text string
	}{{0, "0"}, {1, "1"}, {5, "5"}, {7, "7"}, {4096, "4096"}, {0xffffff9c, "-100"}, {0xfffffffe, "-ENOENT"}, {1 << 63, "0x8000000000000000"}} {
		h.add(v.raw, v.text)
	}
	v := h.finish(3)
	want := []Bucket{{-7, 1}, {-2, 1}, {0, 1}, {1, 1}, {3, 2}, {13, 1}, {64, 1}}
	if fmt.Sprint(v.Log2) != fmt.Sprint(want) || v.Distinct != 8 || len(v.Top) != 3 {
		t.Errorf("got %+v, want buckets %v", v, want)
	}
	few := &hist{byRaw: map[uint64]int32{}, scalar: true}
	few.add(1, "1")
	if v := few.finish(3); v.Log2 != nil {
		t.Errorf("one value bucketed: %+v", v)
	}
}

var voidTags = map[string]bool{"meta": true, "input": true, "br": true, "link": true, "img": true, "hr": true}

// checkStructure is a structural check of an HTML page: a doctype, one
// html, head and body, every element closed in order, the contents of
// script and style taken as raw text.
func checkStructure(p []byte) error {
	s := string(p)
	if !strings.HasPrefix(s, "<!DOCTYPE html>\n") {
		return errors.New("no doctype")
	}
	tag := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^<>]*)>`)
	var stack []string
	seen := map[string]int{}
	for pos := len("<!DOCTYPE html>"); ; {
		m := tag.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		closing, name := s[pos+m[2]:pos+m[3]] == "/", strings.ToLower(s[pos+m[4]:pos+m[5]])
		pos += m[1]
		switch {
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return fmt.Errorf("</%s> at byte %d closes %v", name, pos, stack)
			}
			stack = stack[:len(stack)-1]
		case voidTags[name]:
		default:
			seen[name]++
			if name == "script" || name == "style" {
				end := strings.Index(s[pos:], "</"+name+">")
				if end < 0 {
					return fmt.Errorf("<%s> not closed", name)
				}
				pos += end + len("</"+name+">")
				continue
			}
			stack = append(stack, name)
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("not closed: %v", stack)
	}
	for _, n := range []string{"html", "head", "body", "title"} {
		if seen[n] != 1 {
			return fmt.Errorf("%d <%s> elements", seen[n], n)
		}
	}
	if seen["script"] != 2 || seen["style"] != 1 {
		return fmt.Errorf("%d scripts, %d styles: want the data, the script and the style", seen["script"], seen["style"])
	}
	return nil
}

// TestSelfContained: the page parses, loads nothing from anywhere, and
// says so in its content security policy.
func TestSelfContained(t *testing.T) {
	task, err := simTask(1<<14, 2)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string][]byte{
		"small": page(t, []Task{smallTask(t)}, Options{}),
		"sim":   page(t, []Task{task, smallTask(t)}, Options{}),
	} {
		if err := checkStructure(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, re := range []string{`(?i)https?://`, `(?i)\b(src|href|action)\s*=`, `(?i)@import`, `(?i)url\(`, `(?i)fetch\(|XMLHttpRequest|WebSocket|import\(`} {
			if loc := regexp.MustCompile(re).FindIndex(p); loc != nil {
				t.Errorf("%s: %s at byte %d: %q", name, re, loc[0], p[max(0, loc[0]-40):min(len(p), loc[1]+40)])
			}
		}
		if !bytes.Contains(p, []byte(`content="default-src 'none';`)) {
			t.Errorf("%s: no content security policy", name)
		}
		if _, err := dataOf(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestValuesCannotCloseTheScript: a value's text is data, never markup.
func TestValuesCannotCloseTheScript(t *testing.T) {
	task := smallTask(t)
	p := page(t, []Task{task}, Options{Rewrite: func(r *calls.Rendered) {
		if r.Name == "filename" {
			r.Text = `</script><script src="https://x">alert(1)</script>`
		}
	}})
	if err := checkStructure(p); err != nil {
		t.Fatal(err)
	}
	d, err := dataOf(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(d.Strs, "\n"), `</script><script src="https://x">`) {
		t.Error("the rewritten value is lost")
	}
	if bytes.Contains(p, []byte(`<script src`)) {
		t.Error("a value's text became markup")
	}
}

// TestBadInput: no task, a task without a tree and a file that is no
// trace are errors that say what to do.
func TestBadInput(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, nil, Options{}); !errors.Is(err, ErrNoTasks) || !strings.Contains(err.Error(), "give at least one trace") {
		t.Errorf("no tasks: %v", err)
	}
	if err := WriteHTML(&b, []Task{{Name: "x.kdf"}}, Options{}); err == nil || !strings.Contains(err.Error(), `("x.kdf") has no call tree`) {
		t.Errorf("no tree: %v", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote %d bytes on error", b.Len())
	}
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.kdf")
	os.WriteFile(garbage, []byte("this is not a trace, just some text\n"), 0o644)
	layout := filepath.Join(dir, "l.jsonl")
	os.WriteFile(layout, []byte(`{"func":"f","pc":"0xffffffff81000000","args":[]}`+"\n"), 0o644)
	if _, err := fileTask(garbage, layout); err == nil {
		t.Error("garbage loaded as a trace")
	} else {
		t.Logf("garbage: %v", err)
	}
}

// TestEmptyTree: a trace with no call still makes a page.
func TestEmptyTree(t *testing.T) {
	area := []uint64{0}
	tree := calls.Build(area, abi.NewDecoder(area, abi.Options{Format: abi.FormatV2}), calls.Options{})
	p := page(t, []Task{{Name: "empty", Tree: tree}}, Options{})
	d, err := dataOf(p)
	if err != nil || len(d.Tasks) != 1 || len(d.Tasks[0].Fn) != 0 {
		t.Fatalf("%v %+v", err, d)
	}
	if err := checkStructure(p); err != nil {
		t.Fatal(err)
	}
}
