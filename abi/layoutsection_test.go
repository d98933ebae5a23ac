package abi

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The fixture (testdata/layoutelf, built by its build.sh with the compiler
// plugin) has two static type_show functions of different shapes, a weak
// function that another file overrides with another shape, and an asm
// label: every one of them must get its own record at its own address.
func TestReadLayoutELF(t *testing.T) {
	path := filepath.Join("testdata", "layoutelf", "layout.elf")
	l, err := LoadLayout(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, _ := f.Symbols()
	at := map[uint64][]string{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			at[s.Value] = append(at[s.Value], s.Name)
		}
	}
	pcs := map[string][]uint64{}
	l.Addresses(func(pc uint64, fn *FuncShape) {
		pcs[fn.Func] = append(pcs[fn.Func], pc)
		if fn.Func == "defaulted" && len(fn.Args) == 2 {
			return // the weak default: its code stays, unnamed, where a.c put it
		}
		if !slices.Contains(at[pc], fn.Func) {
			t.Errorf("record of %s at %#x: the symbols there are %v", fn.Func, pc, at[pc])
		}
	})
	for name, n := range map[string]int{"type_show": 2, "defaulted": 2, "renamed_label": 1, "a_entry": 1, "b_entry": 1} {
		if len(pcs[name]) != n {
			t.Errorf("%s: %d records, want %d", name, len(pcs[name]), n)
		}
	}
	shows := l.Lookup("type_show")
	if len(shows) == 2 && len(shows[0].Args) == len(shows[1].Args) {
		t.Errorf("the two type_show records have the same shape: %+v", shows)
	}
	for _, fn := range shows {
		if len(fn.Args) != 2 {
			continue
		}
		// a.c's type_show(struct attr *a, char *buf): mode, then two
		// bitfields in one byte.
		fs := fn.Args[0].Fields
		if len(fs) != 3 || fs[1].Name != "ro" || fs[1].Bits != 1 || fs[1].BitOff != 0 ||
			fs[2].Name != "hidden" || fs[2].Bits != 1 || fs[2].BitOff != 1 || fs[2].Off != 4 {
			t.Errorf("struct attr fields: %+v", fs)
		}
	}
	table, errs := TableFromLayout(l, 0)
	if len(errs) > 0 || table.Functions() != len(l.Funcs) {
		t.Errorf("table: %d functions of %d, errors %v", table.Functions(), len(l.Funcs), errs)
	}
}

func TestReadLayoutELFErrors(t *testing.T) {
	t.Run("no section", func(t *testing.T) {
		exe, err := os.Executable()
		if err != nil {
			t.Skip(err)
		}
		_, err = LoadLayout(exe)
		if !errors.Is(err, ErrNoLayoutSection) {
			t.Fatalf("err = %v, want ErrNoLayoutSection", err)
		}
	})
	t.Run("not ELF", func(t *testing.T) {
		_, err := ReadLayoutELF(strings.NewReader("\x7fELF but not really"), "x")
		if err == nil || !strings.HasPrefix(err.Error(), "x: ") {
			t.Fatalf("err = %v", err)
		}
	})
}

func layoutRecord(pc uint64, json string, version uint32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, pc)
	binary.Write(&b, binary.LittleEndian, uint32(len(json)))
	binary.Write(&b, binary.LittleEndian, version)
	b.WriteString(json)
	for b.Len()%8 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func TestParseLayoutSection(t *testing.T) {
	good := `{"func":"f","args":[{"idx":0,"size":4,"fields":[]}],"ret":null}`
	cases := []struct {
		name  string
		data  []byte
		funcs []string // func@pc of the records returned
		err   string
	}{
		{"one", layoutRecord(0x1000, good, 1), []string{"f@0x1000"}, ""},
		{"padding between", slices.Concat(layoutRecord(0x1000, good, 1), make([]byte, 16), layoutRecord(0x2000, good, 1)), []string{"f@0x1000", "f@0x2000"}, ""},
		{"discarded function", slices.Concat(layoutRecord(0, good, 1), layoutRecord(^uint64(0), good, 1), layoutRecord(0x10, good, 1)), []string{"f@0x10"}, ""},
		{"tail padding", slices.Concat(layoutRecord(0x1000, good, 1), make([]byte, 4)), []string{"f@0x1000"}, ""},
		{"version", slices.Concat(layoutRecord(0x1000, good, 1), layoutRecord(0x2000, good, 2)), []string{"f@0x1000"}, "record version 2"},
		{"torn", layoutRecord(0x1000, good, 1)[:40], nil, "runs past"},
		{"torn header", slices.Concat(layoutRecord(0x1000, good, 1), []byte{1, 2, 3}), []string{"f@0x1000"}, "a record header needs 16"},
		{"bad json", slices.Concat(layoutRecord(0x1000, good, 1), layoutRecord(0x2000, `{"func":`, 1)), []string{"f@0x1000"}, "not a layout record"},
		{"bad index", layoutRecord(0x1000, `{"func":"g","args":[{"idx":300,"size":4,"fields":[]}]}`, 1), nil, "out of 0..255"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			funcs, err := ParseLayoutSection(c.data, binary.LittleEndian, "img")
			var got []string
			for _, f := range funcs {
				got = append(got, f.Func+"@"+f.PC)
			}
			if !slices.Equal(got, c.funcs) {
				t.Errorf("records %v, want %v", got, c.funcs)
			}
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("err = %v, want %q", err, c.err)
			}
		})
	}
}

func FuzzParseLayoutSection(f *testing.F) {
	f.Add(layoutRecord(0x1000, `{"func":"f","args":[{"idx":0,"size":4,"fields":[]}],"ret":{"size":0,"fields":[]}}`, 1))
	f.Add(make([]byte, 24))
	f.Fuzz(func(t *testing.T, b []byte) {
		funcs, _ := ParseLayoutSection(b, binary.LittleEndian, "fuzz")
		for _, fn := range funcs {
			if _, err := strconv.ParseUint(strings.TrimPrefix(fn.PC, "0x"), 16, 64); err != nil {
				t.Fatalf("record with pc %q", fn.PC)
			}
		}
	})
}
