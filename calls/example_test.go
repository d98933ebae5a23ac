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
