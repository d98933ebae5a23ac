package debuginfo_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
)

// What a tool does with a v1 trace and the traced kernel's vmlinux: open
// the image, check that the trace comes from it, place the trace's pcs,
// take exact record lengths from the debug info, and decode with them.
// The image here is a small test fixture; the trace is made up.
func Example_decode() {
	ix, err := debuginfo.Open("testdata/fixture.elf", debuginfo.Options{CacheDir: "-"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A trace file's metadata (abi.LoadTrace) carries the build id and
	// the boot's KASLR offset.
	meta := &abi.Meta{BuildID: ix.BuildID}
	if err := debuginfo.CheckBuildID(meta, ix); err != nil {
		fmt.Println(err)
		return
	}
	sp := debuginfo.SpaceOf(meta, ix)
	b, err := debuginfo.Layouts(ix, debuginfo.DWARFLayout{})
	if err != nil {
		fmt.Println(err)
		return
	}
	table, errs := b.Table(sp)
	if len(errs) > 0 {
		fmt.Println(errs)
		return
	}

	// do_open(-100, "x", &how) = 0x8000, as the kernel writes it: one
	// record per argument, the struct pointer expanded into its fields.
	pc := sp.Runtime(ix.ByName("do_open")[0].Low)
	area := []uint64{0}
	for i, r := range []abi.Record{
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 0, Size: 4, Values: []uint64{0xffffff9c}},
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 1, Size: 8, Values: []uint64{0x7ffe0010}},
		{Kind: abi.KindEntry, PC: pc, ArgIdx: 2, Size: 8, Ptr: 0xffff888000001000, Values: []uint64{0x8000, 0, 0}},
		{Kind: abi.KindReturn, PC: pc, Size: 8, Values: []uint64{0x8000}},
	} {
		r.Seq = uint32(i + 1)
		area = abi.EncodeV1(area, &r)
	}
	area[0] = uint64(len(area) - 1)

	d := abi.NewDecoder(area, abi.Options{Format: abi.FormatV1, Table: table})
	for d.Next() {
		r := d.Record()
		f := ix.Lookup(sp.Link(r.PC))
		fmt.Printf("%s %s arg %d: %d values\n", f.Name, r.Kind, r.ArgIdx, len(r.Values))
	}
	s := d.Summary()
	fmt.Println("exact:", s.Exact())
	fmt.Println(ix.Signature(ix.Lookup(sp.Link(pc))))
	// Output:
	// do_open ENTRY arg 0: 1 values
	// do_open ENTRY arg 1: 1 values
	// do_open ENTRY arg 2: 3 values
	// do_open RET arg 0: 1 values
	// exact: true
	// long do_open(int dfd, const char * filename, struct open_how * how)
}

// Naming an address inside a function, as symbolize does.
func ExampleIndex_Lookup() {
	ix, err := debuginfo.Open("testdata/fixture.elf", debuginfo.Options{CacheDir: "-"})
	if err != nil {
		fmt.Println(err)
		return
	}
	addr := ix.ByName("set_flags")[0].Low + 6
	f := ix.Lookup(addr)
	fmt.Printf("%#x %s+%#x %s:%d\n", addr, f.Name, addr-f.Low, f.File, f.Line)
	for _, p := range f.Params {
		fmt.Println(p.Name, ix.Type(p.Type).Name)
	}
	// Output:
	// 0x401026 set_flags+0x6 fixture_a.c:38
	// f struct flags *
	// s enum state
	// mode umode_t
}
