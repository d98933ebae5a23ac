package calls_test

import (
	"fmt"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
)

// From a task's buffer to calls with their values, as a fuzzer would read
// them: decode, build the tree, name and render with the kernel's debug
// info. The image is a small test fixture; the trace is made up: do_open
// passes an ERR_PTR to set_flags, then fails with -ENOENT.
func Example_debugInfo() {
	ix, err := debuginfo.Open("../debuginfo/testdata/fixture.elf", debuginfo.Options{CacheDir: "-"})
	if err != nil {
		fmt.Println(err)
		return
	}
	sp := debuginfo.SpaceOf(&abi.Meta{}, ix)
	b, err := debuginfo.Layouts(ix, debuginfo.DWARFLayout{})
	if err != nil {
		fmt.Println(err)
		return
	}
	table, _ := b.Table(sp)

	open := sp.Runtime(ix.ByName("do_open")[0].Low)
	set := sp.Runtime(ix.ByName("set_flags")[0].Low)
	area := []uint64{0}
	for i, r := range []abi.Record{
		{Kind: abi.KindEntry, PC: open, ArgIdx: 0, Size: 4, Values: []uint64{0xffffff9c}},
		{Kind: abi.KindEntry, PC: open, ArgIdx: 1, Size: 8, Values: []uint64{0x7ffe0010}},
		{Kind: abi.KindEntry, PC: open, ArgIdx: 2, Size: 8, Ptr: 0xffff888000001000, Values: []uint64{0x8000, 0, 0}},
		{Kind: abi.KindEntry, PC: set, ArgIdx: 0, Size: 8, Ptr: 0xfffffffffffffff4, Values: []uint64{abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr, abi.BadAddr}},
		{Kind: abi.KindEntry, PC: set, ArgIdx: 1, Size: 4, Values: []uint64{3}},
		{Kind: abi.KindEntry, PC: set, ArgIdx: 2, Size: 2, Values: []uint64{0644}},
		{Kind: abi.KindReturn, PC: set, Size: 1, Values: []uint64{0}},
		{Kind: abi.KindReturn, PC: open, Size: 8, Values: []uint64{0xfffffffffffffffe}},
	} {
		r.Seq = uint32(i + 1)
		area = abi.EncodeV1(area, &r)
	}
	area[0] = uint64(len(area) - 1)

	d := abi.NewDecoder(area, abi.Options{Format: abi.FormatV1, Table: table})
	tree := calls.Build(area, d, calls.Options{Markers: true})
	nm := &calls.Namer{Index: ix, Space: sp, Layout: b}
	var show func(i int)
	show = func(i int) {
		c := &tree.Calls[i]
		var args []string
		for _, a := range nm.Args(tree, i) {
			args = append(args, a.Name+"="+a.Text)
		}
		line := strings.Repeat("  ", int(c.Depth)) + nm.Func(c.PC).Name + "(" + strings.Join(args, ", ") + ")"
		if r, ok := nm.Ret(tree, i); ok {
			line += " = " + r.Text
		}
		if nm.IsErr(tree, i) {
			line += " (failed)"
		}
		fmt.Println(line)
		tree.Children(i, show)
	}
	tree.Children(-1, show)
	// Output:
	// do_open(dfd=-100, filename=0x7ffe0010, how={flags=0x8000, mode=0, resolve=0}) = -ENOENT (failed)
	//   set_flags(f=ERR_PTR(-ENOMEM), s=STATE_RUN, mode=0644) = false
}
