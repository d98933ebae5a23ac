package abi

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// cappedLayout is the plugin's layout of compiler/tests/capped.c built with
// a cap of 3 fields, each function at its own made-up pc.
func cappedLayout(t *testing.T) *Layout {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "capped", "capped.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := ReadLayout(f, "capped.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Funcs {
		l.Funcs[i].PC = "0x" + strconv.FormatUint(0xffffffff81000000+uint64(i)*0x100, 16)
	}
	return l
}

// TestReadCappedLayout: the key says how many fields the struct has, and
// lengths come from the fields listed.
func TestReadCappedLayout(t *testing.T) {
	l := cappedLayout(t)
	capped := map[string][2]int{} // func -> {arg 0 capped, ret capped}
	for _, fn := range l.Funcs {
		var c [2]int
		if len(fn.Args) > 0 {
			c[0] = fn.Args[0].Capped
		}
		if fn.Ret != nil {
			c[1] = fn.Ret.Capped
		}
		capped[fn.Func] = c
	}
	want := map[string][2]int{
		"cap_ptr": {5, 0}, "cap_ret_ptr": {5, 5}, "cap_byval": {5, 0},
		"cap_ret_val": {0, 5}, "cap_bits": {5, 0}, "cap_three": {0, 0}, "cap_small": {0, 0},
	}
	if !reflect.DeepEqual(capped, want) {
		t.Errorf("capped counts %v, want %v", capped, want)
	}
	for _, fn := range l.Funcs {
		for _, a := range fn.Args {
			if len(a.Fields) > 3 {
				t.Errorf("%s arg %d: %d fields, the cap is 3", fn.Func, a.Idx, len(a.Fields))
			}
		}
	}
	// Written and read back, the key stays.
	var buf bytes.Buffer
	if err := l.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"capped":5`) {
		t.Errorf("written layout lost the capped key:\n%s", buf.String())
	}
	back, err := ReadLayout(&buf, "written")
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Funcs {
		if !reflect.DeepEqual(back.Funcs[i], l.Funcs[i]) {
			t.Errorf("%s: round trip changed the shape: %+v", l.Funcs[i].Func, back.Funcs[i])
		}
	}
}

// TestCappedSection: a version-1 .kcovdf_layout record carries the key.
func TestCappedSection(t *testing.T) {
	l := cappedLayout(t)
	var sec []byte
	for _, fn := range l.Funcs {
		pc, _, _ := fn.Addr()
		fn.PC = ""
		text, err := jsonLine(fn)
		if err != nil {
			t.Fatal(err)
		}
		sec = binary.LittleEndian.AppendUint64(sec, pc)
		sec = binary.LittleEndian.AppendUint32(sec, uint32(len(text)))
		sec = binary.LittleEndian.AppendUint32(sec, 1)
		sec = append(sec, text...)
		sec = append(sec, make([]byte, (8-len(text)%8)%8)...)
	}
	funcs, err := ParseLayoutSection(sec, binary.LittleEndian, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(funcs) != len(l.Funcs) {
		t.Fatalf("%d records, want %d", len(funcs), len(l.Funcs))
	}
	for i := range funcs {
		if !reflect.DeepEqual(funcs[i], l.Funcs[i]) {
			t.Errorf("record %d: %+v, want %+v", i, funcs[i], l.Funcs[i])
		}
	}
}

func jsonLine(fn FuncShape) ([]byte, error) {
	var buf bytes.Buffer
	l := &Layout{}
	l.Add(fn)
	if err := l.Write(&buf); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// TestCappedLayoutErrors: a capped key that cannot be true is an error.
func TestCappedLayoutErrors(t *testing.T) {
	for _, line := range []string{
		`{"func":"f","args":[{"idx":0,"size":8,"fields":[{"off":0,"size":8}],"capped":1}]}`,
		`{"func":"f","args":[{"idx":0,"size":8,"fields":[],"capped":4}]}`,
		`{"func":"f","args":[{"idx":0,"size":8,"fields":[{"off":0,"size":8}],"capped":-2}]}`,
		`{"func":"f","args":[],"ret":{"size":8,"fields":[{"off":0,"size":8},{"off":8,"size":8}],"capped":2}}`,
	} {
		if _, err := ReadLayout(strings.NewReader(line), "bad"); err == nil || !strings.Contains(err.Error(), "capped") {
			t.Errorf("%s: err %v, want one about capped", line, err)
		}
	}
}

// memory is a little-endian image of kernel memory for the test's
// records: reads follow the kernel's rules (min(size, 8) bytes, 0 when
// the address is not mapped).
type memory map[uint64][]byte

func (m memory) read(addr, size uint64) uint64 {
	for base, b := range m {
		if addr >= base && addr-base+min(size, 8) <= uint64(len(b)) {
			var w [8]byte
			copy(w[:], b[addr-base:addr-base+min(size, 8)])
			return binary.LittleEndian.Uint64(w[:])
		}
	}
	return 0
}

// TestDecodeCappedTrace writes a v1 trace of the capped functions the way
// the kernel does (each struct record reads the fields its table lists)
// and decodes it with the capped layout: every record comes back exactly,
// every word attributed. A reader that took the structs' full tables (as
// DWARF gives them) gets the lengths wrong, which the decoder reports.
func TestDecodeCappedTrace(t *testing.T) {
	l := cappedLayout(t)
	// struct cap5 at s (40 bytes): a, in{x, y}, arr[3], b1, tail; the
	// bytes after the third field hold header-like words, so that a wrong
	// length would not go unnoticed by chance.
	const s, b, sc = 0xffff888000001000, 0xffff888000002000, 0xffffc90000003000
	img := make([]byte, 40)
	put := func(off int, v uint64, n int) {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], v)
		copy(img[off:off+n], w[:n])
	}
	put(0, uint64(1<<64-7), 8)
	put(8, 0x11111111, 4)
	put(12, 0x22222222, 4)
	put(16, 5, 4)
	put(20, 6, 4)
	put(24, 7, 4)
	put(28, 5, 1)
	put(32, V1Header(KindEntry, 9), 8)
	bits := make([]byte, 24)
	binary.LittleEndian.PutUint16(bits, 5|300<<3)
	binary.LittleEndian.PutUint32(bits[4:], uint32(1<<32-2))
	mem := memory{s: img, b: bits, sc: []byte{0x2a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}

	var want []Record
	area := []uint64{0}
	seq := uint32(0)
	emit := func(k Kind, pc uint64, idx, size int, ptr uint64, fields []Field) {
		seq++
		r := Record{Offset: len(area), Kind: k, Seq: seq, PC: pc, ArgIdx: uint8(idx), Size: uint8(min(size, MaxSize)), Ptr: ptr}
		if len(fields) == 0 {
			r.Values = []uint64{mem.read(ptr, uint64(size))}
		}
		for _, f := range fields {
			v := uint64(BadAddr)
			if !IsErrPtr(ptr) {
				v = mem.read(ptr+f.Off, f.Size)
			}
			r.Values = append(r.Values, v)
		}
		area = EncodeV1(area, &r)
		want = append(want, r)
	}
	for round := range 3 {
		for _, fn := range l.Funcs {
			pc, _, _ := fn.Addr()
			for _, a := range fn.Args {
				ptr := uint64(sc)
				if a.Struct != "" {
					ptr = s
					if a.Struct == "capbits" {
						ptr = b
					}
					if a.Size == 8 && round == 1 {
						ptr = 0 // NULL: zeros
					}
					if a.Size == 8 && round == 2 {
						ptr = uint64(1<<64 - 12) // ERR_PTR: 0xBADADD85
					}
				}
				emit(KindEntry, pc, a.Idx, a.Size, ptr, a.Fields)
			}
			if fn.Ret != nil {
				ptr := uint64(sc)
				if fn.Ret.Struct != "" {
					ptr = s
				}
				emit(KindReturn, pc, 0, fn.Ret.Size, ptr, fn.Ret.Fields)
			}
		}
	}
	area[0] = uint64(len(area) - 1)

	table, errs := TableFromLayout(l, 0)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d := NewDecoder(area, Options{Format: FormatV1, Table: table})
	var got []Record
	for d.Next() {
		r := *d.Record()
		r.Values = append([]uint64(nil), r.Values...)
		got = append(got, r)
	}
	sum := d.Summary()
	if !sum.Exact() || len(sum.Anomalies) > 0 {
		t.Fatalf("decode not exact: %+v", sum)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %d records, want %d; first difference:\n%s", len(got), len(want), firstDiff(got, want))
	}
	// The capped values themselves, as capped.c checks them at run time.
	first := got[0]
	if first.Ptr != s || !reflect.DeepEqual(first.Values, []uint64{1<<64 - 7, 0x2222222211111111, 5 | 6<<32}) {
		t.Errorf("cap_ptr entry: %#x %#x", first.Ptr, first.Values)
	}

	// The same trace read with the structs' full tables.
	full := cappedLayout(t)
	for i := range full.Funcs {
		fn := &full.Funcs[i]
		for j := range fn.Args {
			a := &fn.Args[j]
			for len(a.Fields) < a.Capped {
				a.Fields = append(a.Fields, Field{Off: 0, Size: 8})
			}
			a.Capped = 0
		}
		if r := fn.Ret; r != nil {
			for len(r.Fields) < r.Capped {
				r.Fields = append(r.Fields, Field{Off: 0, Size: 8})
			}
			r.Capped = 0
		}
	}
	table, _ = TableFromLayout(full, 0)
	d = NewDecoder(area, Options{Format: FormatV1, Table: table})
	n := 0
	for d.Next() {
		n++
	}
	if d.Summary().AnomalyCounts[AnomalyLayoutMismatch] == 0 {
		t.Errorf("uncapped tables decoded the capped trace without a layout-mismatch (%d records)", n)
	}
}

func firstDiff(got, want []Record) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return "got  " + got[i].String() + "\nwant " + want[i].String()
		}
	}
	return "lengths differ"
}

// TestLayoutCap: the cap a layout shows, and objects built with different
// caps.
func TestLayoutCap(t *testing.T) {
	l := cappedLayout(t)
	if n, ok := l.Cap(); n != 3 || !ok {
		t.Errorf("Cap() = %d, %v; want 3, true", n, ok)
	}
	plain := &Layout{}
	plain.Add(FuncShape{Func: "f", Args: []ArgShape{{Idx: 0, Size: 8, Fields: []Field{{Off: 0, Size: 8}}}}})
	if n, ok := plain.Cap(); n != 0 || !ok {
		t.Errorf("uncapped Cap() = %d, %v; want 0, true", n, ok)
	}
	l.Add(FuncShape{Func: "g", Args: []ArgShape{{Idx: 0, Size: 8, Fields: []Field{{Off: 0, Size: 8}}, Capped: 2}}})
	if n, ok := l.Cap(); ok {
		t.Errorf("caps of 3 and 1: Cap() = %d, true", n)
	}
}
