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
