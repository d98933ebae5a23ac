package calls_test

import (
	"fmt"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
)

// A call of vfs_write with its arguments and return value, named and
// rendered from the compiler's layout alone (no debug info).
func Example() {
	l, err := abi.ReadLayout(strings.NewReader(`{"func":"vfs_write","pc":"0xffffffff81000100","args":[{"idx":0,"name":"file","type":"struct file *","size":8,"fields":[{"name":"f_mode","off":0,"size":4}]},{"idx":1,"name":"count","type":"size_t","size":8,"fields":[]}],"ret":{"type":"ssize_t","size":8,"fields":[]}}`), "layout.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	const pc = 0xffffffff81000100
	area := []uint64{0}
	for i, r := range []abi.Record{
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 0, Size: 8, Ptr: 0xffff888000001000, Values: []uint64{0x1f}},
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 1, Size: 8, Values: []uint64{4096}},
		{Kind: abi.KindReturn, PC: pc, Size: 8, Values: []uint64{4096}},
	} {
		r.Seq = uint32(i + 1)
		area = abi.EncodeV2(area, &r)
	}
	area[0] = uint64(len(area) - 1)

	nm := &calls.Namer{Layout: debuginfo.Bind(l, nil)}
	d := abi.NewDecoder(area, abi.Options{Format: abi.FormatV2})
	calls.Stream(area, d, calls.Options{}, func(t *calls.Tree) error {
		for i := range t.Calls {
			var args []string
			for _, a := range nm.Args(t, i) {
				args = append(args, a.Name+"="+a.Text)
			}
			ret, _ := nm.Ret(t, i)
			fmt.Printf("%s(%s) = %s\n", nm.Func(t.Calls[i].PC).Name, strings.Join(args, ", "), ret.Text)
		}
		return nil
	})
	// Output:
	// vfs_write(file={f_mode=0x1f}, count=4096) = 4096
}

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
