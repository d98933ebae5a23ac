package tracediff_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/tracediff"
)

// Two runs of a call that makes one callee: in B, the callee is another
// function, and the call returns something else.
func ExampleCompare() {
	const f, g, h = 0xffffffff81000100, 0xffffffff81000200, 0xffffffff81000300
	build := func(callee uint64, ret uint64) tracediff.Task {
		w := []uint64{0}
		for i, r := range []abi.Record{
			{Kind: abi.KindEntry, PC: f, Size: 4, Values: []uint64{1}},
			{Kind: abi.KindEntry, PC: callee, Size: 4, Values: []uint64{2}},
			{Kind: abi.KindReturn, PC: callee, Size: 4, Values: []uint64{0}},
			{Kind: abi.KindReturn, PC: f, Size: 4, Values: []uint64{ret}},
		} {
			r.Seq = uint32(i + 1)
			w = abi.EncodeV2(w, &r)
		}
		w[0] = uint64(len(w) - 1)
		tree := calls.Build(w, abi.NewDecoder(w, abi.Options{Format: abi.FormatV2, PCMin: 1, PCMax: ^uint64(0)}), calls.Options{})
		return tracediff.Task{Tree: tree, Namer: &calls.Namer{}}
	}
	res := tracediff.Compare([]tracediff.Task{build(g, 0)}, []tracediff.Task{build(h, 5)}, tracediff.Options{})
	t := res.Tasks[0]
	fmt.Println("equal:", res.Equal)
	fmt.Println("aligned", t.Aligned, "only in A", t.OnlyA, "only in B", t.OnlyB)
	fmt.Println("A made", t.Divergences[0].OnlyA[0].Func, "where B made", t.Divergences[0].OnlyB[0].Func)
	fmt.Println(t.Differences[0].Kind, t.Differences[0].Values[0])
	// Output:
	// equal: false
	// aligned 1 only in A 1 only in B 1
	// A made 0xffffffff81000200 where B made 0xffffffff81000300
	// return {ret 0x0 0x5}
}
