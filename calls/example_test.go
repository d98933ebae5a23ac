package calls_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/calls"
)

// Classic kcov's PCs of a thread placed on the calls dataflow saw: open
// (at 0x1000) calls getname (at 0x2000), which calls strncpy (at 0x9000),
// which dataflow does not trace. Functions are one page each here; in
// practice kcovFunc asks debuginfo (Index.Lookup).
func ExampleAlign() {
	tree := &calls.Tree{Calls: []calls.Call{
		{PC: 0x1000, Parent: -1, End: 2, HasRet: true},
		{PC: 0x2000, Parent: 0, End: 2, Depth: 1, HasRet: true},
	}}
	pcs := []uint64{0x1010, 0x2010, 0x9010, 0x2040, 0x1030}
	kcovFunc := func(pc uint64) (uint64, bool) { return pc &^ 0xfff, true }
	callFunc := func(pc uint64) uint64 { return pc } // no KASLR offset here
	cov := calls.Align(tree, pcs, kcovFunc, callFunc)
	for i, pc := range pcs {
		fmt.Printf("%#x in call %d, exact %v\n", pc, cov.Call[i], cov.Exact[i])
	}
	fmt.Printf("%+v\n", cov.Stats)
	// Output:
	// 0x1010 in call 0, exact true
	// 0x2010 in call 1, exact true
	// 0x9010 in call 1, exact true
	// 0x2040 in call 1, exact true
	// 0x1030 in call 0, exact true
	// {PCs:5 Exact:5 Guessed:0 Outside:0 Entered:2 Skipped:0 Mismatched:0 Unknown:0}
}
