package signal_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/signal"
)

func Example() {
	const pc = 0xffffffff811a2480
	// do_sys_openat2(dfd=-100, ..., how={flags=0x8000, mode=0, resolve=0}) = 3
	open := []abi.Record{
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 0, Size: 4, Values: []uint64{0xffffff9c}},
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 2, Size: 8, Ptr: 0xffff888000bbfed0, Values: []uint64{0x8000, 0, 0}},
		{Kind: abi.KindReturn, PC: pc, Size: 8, Values: []uint64{3}},
	}
	corpus := signal.Extract(open...)
	// The same call failing with ENOENT.
	failed := signal.Extract(append(open[:2:2], abi.Record{Kind: abi.KindReturn, PC: pc, Size: 8, Values: []uint64{^uint64(1)}})...)
	fmt.Println(corpus.Len(), "features")
	for _, f := range corpus.Diff(failed).Features() {
		fmt.Println("new:", f)
	}
	// Output:
	// 6 features
	// new: 0x811a2480:ret=errno(2)
}
