package abi

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Field is one (offset, size) pair of a field table, with its member name.
// A bitfield is read widened to the bytes that hold it; BitOff and Bits say
// where its bits are in the value read (least significant bit first).
type Field struct {
	Name   string `json:"name,omitempty"`
	Off    uint64 `json:"off"`
	Size   uint64 `json:"size"`
	BitOff uint64 `json:"bit_off,omitempty"`
	Bits   uint64 `json:"bits,omitempty"`
}

// ArgShape is one entry call a function emits (docs/layout.md).
type ArgShape struct {
	Idx  int `json:"idx"`
	Size int `json:"size"`
	// Clamped: Size is above 255, and the record's size field says 255.
	Clamped bool    `json:"clamped,omitempty"`
	Marker  bool    `json:"marker,omitempty"`
	Name    string  `json:"name,omitempty"`
	Type    string  `json:"type,omitempty"`
	Struct  string  `json:"struct,omitempty"`
	Fields  []Field `json:"fields"`
	// Capped: the struct has this many fields, of which the compiler's
	// cap (-kcovdf-dataflow-max-fields) kept the first len(Fields); 0 when
	// Fields is the whole table.
	Capped int `json:"capped,omitempty"`
}

// RetShape is the shape of a function's return record.
type RetShape struct {
	Size    int     `json:"size"`
	Clamped bool    `json:"clamped,omitempty"`
	Type    string  `json:"type,omitempty"`
	Struct  string  `json:"struct,omitempty"`
	Fields  []Field `json:"fields"`
	Capped  int     `json:"capped,omitempty"`
}

// CapFields applies a cap of max fields (0: none) to a full field table,
// as the compiler does: the first max fields, and the full count when some
// were cut (else 0).
func CapFields(fields []Field, max int) (kept []Field, capped int) {
	if max <= 0 || len(fields) <= max {
		return fields, 0
	}
	return fields[:max:max], len(fields)
}

// Cap is the field cap the layout's capped tables show: the number of
// fields each of them lists. ok is false when they disagree (objects built
// with different caps); n is 0 when no table was capped.
func (l *Layout) Cap() (n int, ok bool) {
	see := func(fields []Field, capped int) {
		if capped == 0 || !ok {
			return
		}
		if n != 0 && n != len(fields) {
			ok = false
			return
		}
		n = len(fields)
	}
	ok = true
	for i := range l.Funcs {
		for _, a := range l.Funcs[i].Args {
			see(a.Fields, a.Capped)
		}
		if r := l.Funcs[i].Ret; r != nil {
			see(r.Fields, r.Capped)
		}
	}
	if !ok {
		return 0, false
	}
	return n, true
}

// checkCapped: a capped table keeps at least one field and fewer than the
// struct has.
func checkCapped(fields []Field, capped int) error {
	if capped != 0 && (capped <= len(fields) || len(fields) == 0) {
		return fmt.Errorf("\"capped\": %d with %d fields listed: a capped table lists at least one field and fewer than the struct has", capped, len(fields))
	}
	return nil
}

// FuncShape is one line of a layout file: the records one instrumented
// function emits.
type FuncShape struct {
	Func   string     `json:"func"`
	File   string     `json:"file,omitempty"`
	Line   int        `json:"line,omitempty"`
	Static bool       `json:"static,omitempty"`
	PC     string     `json:"pc,omitempty"`
	Args   []ArgShape `json:"args"`
	// Skipped lists the parameters the compiler could not record exactly
	// (optimised out, or only partly kept), with the reason.
	Skipped []SkippedParam `json:"skipped,omitempty"`
	Ret     *RetShape      `json:"ret,omitempty"`
}

// SkippedParam is a parameter that has no entry record.
type SkippedParam struct {
	Idx  int    `json:"idx"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
	Why  string `json:"why,omitempty"`
}

// Addr parses the optional pc; ok is false when the line has none.
func (f *FuncShape) Addr() (pc uint64, ok bool, err error) {
	if f.PC == "" {
		return 0, false, nil
	}
	pc, err = strconv.ParseUint(strings.TrimPrefix(f.PC, "0x"), 16, 64)
	if err != nil {
		return 0, false, fmt.Errorf("function %s: bad pc %q: %v", f.Func, f.PC, err)
	}
	return pc, true, nil
}

// Layout is the set of field tables of a kernel build: what a v1 decoder
// needs to know every record's length.
type Layout struct {
	Funcs []FuncShape
	// byName indexes Funcs by linkage name; static functions of the same
	// name in different files share a name.
	byName map[string][]int
}

// ReadLayout parses a layout file (JSON Lines). A malformed line is an
// error naming the file and line; lines before it are kept.
func ReadLayout(r io.Reader, name string) (*Layout, error) {
	l := &Layout{byName: map[string][]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		var f FuncShape
		if err := json.Unmarshal(b, &f); err != nil {
			return l, fmt.Errorf("%s:%d: not a layout line (%v); layout files are JSON Lines as written by the compiler plugin, see docs/layout.md", name, line, err)
		}
		if err := f.check(); err != nil {
			return l, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		l.Add(f)
	}
	if err := sc.Err(); err != nil {
		return l, fmt.Errorf("%s:%d: %v", name, line, err)
	}
	return l, nil
}

// LoadLayout reads a layout from disk: a JSON Lines file, or an ELF image
// (vmlinux) whose .kcovdf_layout section binds each shape to its function's
// address.
func LoadLayout(path string) (*Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 4 && string(magic[:]) == elf.ELFMAG {
		return ReadLayoutELF(f, path)
	}
	return ReadLayout(f, path)
}

func (f *FuncShape) check() error {
	if f.Func == "" && f.PC == "" {
		return fmt.Errorf("function without \"func\" or \"pc\"")
	}
	if _, _, err := f.Addr(); err != nil {
		return err
	}
	for _, a := range f.Args {
		if a.Idx < 0 || a.Idx > 255 {
			return fmt.Errorf("function %s: argument index %d out of 0..255", f.Func, a.Idx)
		}
		if err := checkCapped(a.Fields, a.Capped); err != nil {
			return fmt.Errorf("function %s: argument %d: %v", f.Func, a.Idx, err)
		}
	}
	if f.Ret != nil {
		if err := checkCapped(f.Ret.Fields, f.Ret.Capped); err != nil {
			return fmt.Errorf("function %s: return: %v", f.Func, err)
		}
	}
	return nil
}

// Add appends one function's shape.
func (l *Layout) Add(f FuncShape) {
	if l.byName == nil {
		l.byName = map[string][]int{}
	}
	l.byName[f.Func] = append(l.byName[f.Func], len(l.Funcs))
	l.Funcs = append(l.Funcs, f)
}

// Write writes the layout as JSON Lines.
func (l *Layout) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range l.Funcs {
		if err := enc.Encode(&l.Funcs[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Lookup returns the shapes recorded under a linkage name.
func (l *Layout) Lookup(name string) []*FuncShape {
	var out []*FuncShape
	for _, i := range l.byName[name] {
		out = append(out, &l.Funcs[i])
	}
	return out
}

// Addresses calls f for every function that has its own pc. Functions
// known by name only get addresses from debuginfo.Bind.
func (l *Layout) Addresses(f func(pc uint64, fn *FuncShape)) {
	for i := range l.Funcs {
		if pc, ok, _ := l.Funcs[i].Addr(); ok {
			f(pc, &l.Funcs[i])
		}
	}
}
