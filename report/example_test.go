package report_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/report"
)

// A report of two calls of vfs_write, named by a layout: the second
// failed with -EBADF.
func ExampleWriteHTML() {
	l, _ := abi.ReadLayout(strings.NewReader(`{"func":"vfs_write","pc":"0xffffffff81000100","args":[{"idx":0,"name":"fd","type":"int","size":4,"fields":[]},{"idx":1,"name":"count","type":"size_t","size":8,"fields":[]}],"ret":{"type":"ssize_t","size":8,"fields":[]}}`), "layout")
	const pc = 0xffffffff81000100
	area := []uint64{0}
	for i, r := range []abi.Record{
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 0, Size: 4, Values: []uint64{1}},
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 1, Size: 8, Values: []uint64{4096}},
		{Kind: abi.KindReturn, PC: pc, Size: 8, Values: []uint64{4096}},
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 0, Size: 4, Values: []uint64{9}},
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 1, Size: 8, Values: []uint64{4096}},
		{Kind: abi.KindReturn, PC: pc, Size: 8, Values: []uint64{1<<64 - 9}},
	} {
		r.Seq = uint32(i + 1)
		area = abi.EncodeV2(area, &r)
	}
	area[0] = uint64(len(area) - 1)
	tree := calls.Build(area, abi.NewDecoder(area, abi.Options{Format: abi.FormatV2}), calls.Options{})
	task := report.Task{Name: "write.kdf", Tree: tree, Namer: &calls.Namer{Layout: debuginfo.Bind(l, nil)}}

	var page bytes.Buffer
	if err := report.WriteHTML(&page, []report.Task{task}, report.Options{Title: "two writes"}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(page.String(), "<!DOCTYPE html>"), strings.Contains(page.String(), "://"))

	// The same tables, as the page embeds them.
	d, _ := report.Collect([]report.Task{task}, report.Options{})
	for _, s := range d.Stats {
		fmt.Printf("%s: %d calls, %d errors\n", d.Funcs[s.Func].Name, s.Calls, s.Errors)
		for _, v := range s.Values {
			fmt.Printf("  %s: %d distinct, top %s ×%d\n", v.Name, v.Distinct, v.Top[0].Text, v.Top[0].Count)
		}
	}
	for _, e := range d.Errnos {
		fmt.Printf("%s returned -%s %d time(s)\n", d.Funcs[e.Func].Name, e.Errno, e.Count)
	}
	// Output:
	// true false
	// vfs_write: 2 calls, 1 errors
	//   fd: 2 distinct, top 1 ×1
	//   count: 1 distinct, top 4096 ×2
	//   return: 2 distinct, top -EBADF ×1
	// vfs_write returned -EBADF 1 time(s)
}
