package signal

import (
	"slices"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
)

// TestTypesFromLayout: the kinds a layout spells, and its field sizes.
func TestTypesFromLayout(t *testing.T) {
	const line = `{"func":"f","pc":"0xffffffff811a2480","args":[` +
		`{"idx":0,"size":4,"name":"dfd","type":"int","fields":[]},` +
		`{"idx":1,"size":8,"name":"how","type":"struct open_how *","fields":[{"name":"flags","off":0,"size":4},{"name":"mode","off":8,"size":8},{"name":"x","off":16,"size":1,"bit_off":2,"bits":3}]}],` +
		`"ret":{"size":8,"type":"long","fields":[]}}`
	l, err := abi.ReadLayout(strings.NewReader(line), "t.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	types := TypesFromLayout(debuginfo.Bind(l, nil))
	if v, f := types.Types(testPC, false, 0); v != (ValueType{Signed, 4}) || f != nil {
		t.Fatalf("dfd: %+v %+v", v, f)
	}
	v, f := types.Types(testPC, false, 1)
	if v.Kind != Pointer || !slices.Equal(f, []ValueType{{Auto, 4}, {Auto, 8}, {Opaque, 1}}) {
		t.Fatalf("how: %+v %+v", v, f)
	}
	if v, _ := types.Types(testPC, true, 0); v != (ValueType{Signed, 8}) {
		t.Fatalf("ret: %+v", v)
	}
	if v, f := types.Types(testPC+16, false, 0); v != (ValueType{}) || f != nil {
		t.Fatalf("unknown function: %+v %+v", v, f)
	}
	// A 4-byte field holding -1 is -1; a long returning -2 is -ENOENT.
	e := NewExtractor(Options{Types: types})
	for _, r := range []abi.Record{rec(abi.KindEntry, 1, 8, 0xffff888000001000, 0xffffffff, 0, 0), rec(abi.KindReturn, 0, 8, 0, ^uint64(1))} {
		e.Add(&r)
	}
	got := strs(e.Signal())
	for _, want := range []string{"0x811a2480:arg1.0=small-neg(-1)", "0x811a2480:ret=errno(2)"} {
		if !slices.Contains(got, want) {
			t.Errorf("no %s in %q", want, got)
		}
	}
}

// TestTypesFromDebugInfo on debuginfo's fixture: the C types of
// parameters, returns and the members of the structs they point to.
func TestTypesFromDebugInfo(t *testing.T) {
	ix, err := debuginfo.Open("../debuginfo/testdata/fixture.elf", debuginfo.Options{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	types := TypesFromDebugInfo(ix)
	pc := func(name string) uint64 {
		fs := ix.ByName(name)
		if len(fs) != 1 {
			t.Fatalf("%s: %d functions", name, len(fs))
		}
		return fs[0].Low
	}
	open := pc("do_open")
	for _, c := range []struct {
		pc     uint64
		ret    bool
		arg    uint8
		value  ValueType
		fields []ValueType
	}{
		{open, false, 0, ValueType{Signed, 4}, nil},
		{open, false, 1, ValueType{Pointer, 8}, nil},
		{open, false, 2, ValueType{Pointer, 8}, []ValueType{{Unsigned, 8}, {Unsigned, 8}, {Unsigned, 8}}},
		{open, true, 0, ValueType{Signed, 8}, nil},
		{pc("set_flags"), false, 1, ValueType{Signed, 4}, nil},   // an enum
		{pc("set_flags"), false, 2, ValueType{Unsigned, 2}, nil}, // umode_t
		{pc("set_flags"), true, 0, ValueType{Unsigned, 1}, nil},  // bool
		{pc("by_value"), false, 0, ValueType{Opaque, 8}, []ValueType{{Unsigned, 8}, {Unsigned, 8}, {Unsigned, 8}}},
	} {
		v, f := types.Types(c.pc, c.ret, c.arg)
		if v != c.value || !slices.Equal(f, c.fields) {
			t.Errorf("%#x ret=%v arg %d: %+v %+v, want %+v %+v", c.pc, c.ret, c.arg, v, f, c.value, c.fields)
		}
	}
	// Bitfields are read widened: their words are classed by the value
	// rules.
	_, f := types.Types(pc("set_flags"), false, 0)
	if len(f) < 4 || f[0].Kind != Opaque || f[3] != (ValueType{Unsigned, 1}) {
		t.Errorf("struct flags: %+v", f)
	}
	if id := FuncIDByName(ix)(open); id == uint32(open) || id != FuncIDByName(ix)(open) {
		t.Errorf("FuncIDByName: %#x", id)
	}
}
