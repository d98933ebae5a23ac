package abi_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kcovdf/kcovdf/abi"
)

// Decoding a v1 buffer exactly: the table says how long each record of a
// function is, as a layout file would.
func ExampleNewDecoder() {
	const pc = 0xffffffff811a2b30 // a function with one argument of two fields
	table := abi.NewTable(1)
	table.Set(pc, abi.KindEntry, 0, abi.RecordWords(2))
	table.Set(pc, abi.KindReturn, 0, abi.RecordWords(1))

	area := []uint64{0} // area[0] counts the words that follow
	area = abi.EncodeV1(area, &abi.Record{Kind: abi.KindEntry, Seq: 7, PC: pc, Size: 16, Ptr: 0xffffc90000a3fd40, Values: []uint64{0x8000, 3}})
	area = abi.EncodeV1(area, &abi.Record{Kind: abi.KindReturn, Seq: 8, PC: pc, Size: 4, Values: []uint64{0xffffffffffffffea}})
	area[0] = uint64(len(area) - 1)

	d := abi.NewDecoder(area, abi.Options{Format: abi.FormatV1, Table: table})
	for d.Next() {
		fmt.Println(d.Record())
	}
	s := d.Summary()
	fmt.Printf("%d records, exact: %v\n", s.Records, s.Exact())
	// Output:
	// [ENTRY] seq=7 pc=0xffffffff811a2b30 arg[0] size=16 ptr=0xffffc90000a3fd40 fields=[0x8000 0x3]
	// [RET] seq=8 pc=0xffffffff811a2b30 size=4 ptr=0x0 val=0xffffffffffffffea
	// 2 records, exact: true
}

// A damaged buffer: the decoder keeps what it can prove and reports the
// rest instead of guessing.
func ExampleDecoder_Summary() {
	area := []uint64{0}
	for seq := uint32(1); seq <= 3; seq++ {
		area = abi.EncodeV3(area, &abi.Record{Kind: abi.KindEntry, Seq: seq, PC: 0x1000, Size: 8, Values: []uint64{42}})
	}
	area[0] = uint64(len(area) - 1)
	area[5] = 0xdead0000 // the second record's header

	d := abi.NewDecoder(area, abi.Options{}) // format detected: v3
	for d.Next() {
		fmt.Println(d.Record().Seq)
	}
	s := d.Summary()
	fmt.Println(s.Format, s.Records, "records,", s.Unattributed, "words unattributed")
	for _, a := range s.Anomalies {
		fmt.Println(a)
	}
	// Output:
	// 1
	// 3
	// v3 2 records, 4 words unattributed
	// word 5: unattributed: 4 words, 1 records not attributed: no v3 header here
}

// Reading a trace file: the words are mapped in place, so Close the trace
// when done with them.
func ExampleLoadTrace() {
	dir, err := os.MkdirTemp("", "kcovdf-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "trace.kdf")
	area := abi.EncodeV3([]uint64{0}, &abi.Record{Kind: abi.KindEntry, Seq: 1, PC: 0x1000, Size: 4, Values: []uint64{5}})
	area[0] = uint64(len(area) - 1)
	err = abi.SaveTrace(path, &abi.Trace{Meta: abi.Meta{Format: abi.FormatV3, KASLROffset: abi.KnownKASLROffset(0x1e00000)}, Words: area})
	if err != nil {
		fmt.Println(err)
		return
	}

	tr, err := abi.LoadTrace(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	fmt.Println(tr.Meta.Format, tr.Meta.KASLROffset, len(tr.Words), "words")
	d := abi.NewDecoder(tr.Words, abi.Options{Format: tr.Meta.Format})
	for d.Next() {
		fmt.Println(d.Record())
	}
	// Output:
	// v3 0x1e00000 5 words
	// [ENTRY] seq=1 pc=0x1000 arg[0] size=4 ptr=0x0 val=0x5
}
