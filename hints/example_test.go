package hints_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/hints"
)

func Example() {
	const pc = 0xffffffff811a2480
	// Two runs of one program: the flag word repeats, the second field
	// (a time, say) does not.
	traces := [][]abi.Record{
		{{Kind: abi.KindEntry, PC: pc, ArgIdx: 1, Size: 8, Ptr: 0xffff888000001000, Values: []uint64{0x8041, 0x5f3a11}},
			{Kind: abi.KindReturn, PC: pc, Size: 4, Values: []uint64{0xffffffea}}}, // -EINVAL
		{{Kind: abi.KindEntry, PC: pc, ArgIdx: 1, Size: 8, Ptr: 0xffff888000002000, Values: []uint64{0x8041, 0x5f3b07}},
			{Kind: abi.KindReturn, PC: pc, Size: 4, Values: []uint64{0xffffffea}}},
	}
	var runs []*hints.Run
	for _, rs := range traces {
		o := hints.NewObserver(hints.Options{})
		o.AddRecords(rs)
		runs = append(runs, o.Run())
	}
	h, err := hints.Stable(hints.Options{}, runs...)
	if err != nil {
		panic(err)
	}
	for _, f := range h.Funcs {
		for _, s := range f.Args {
			fmt.Printf("%#x arg%d field %d: %#x -> %#x\n", f.PC, s.Arg, s.Field, s.Values, s.Candidates)
		}
		fmt.Println("errnos", f.Returns.Errnos)
	}
	fmt.Println("stable", h.Stable, "flaky", h.Flaky)
	// Output:
	// 0xffffffff811a2480 arg1 field 0: [0x8041] -> [0x8041 0x4180000000000000 0x41800000 0xffffffffffff8041 0x4180 0x41]
	// errnos [22]
	// stable 2 flaky 2
}
