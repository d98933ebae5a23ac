package model_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/model"
)

// A fuzzer's tests can drive the model exactly as the real device: open,
// INIT_TRACE, mmap, ENABLE, and the callbacks an instrumented kernel
// function makes; the area then decodes like a real one.
func ExampleDevice() {
	dev := model.NewDevice(nil)
	const arg = 0xffffc90000001000 // where the kernel keeps the argument
	dev.Mem.Map(arg, 8)
	dev.Mem.WriteU64(arg, 42)

	f, t := dev.Open(), dev.NewTask()
	if _, err := f.Ioctl(t, abi.IoctlInitTrace, 512); err != nil {
		panic(err)
	}
	area, err := f.Mmap(0, 512*8, true)
	if err != nil {
		panic(err)
	}
	if _, err := f.Ioctl(t, abi.IoctlEnable, 0); err != nil {
		panic(err)
	}
	const pc = 0xffffffff81234560
	t.TraceArgs(pc, 0, 8, arg, 0, 0) // entry: argument 0 is 42
	t.TraceRet(pc, 4, 0, 0, 0)       // return

	d := abi.NewDecoder(area, abi.Options{Format: abi.FormatV1})
	for d.Next() {
		fmt.Println(d.Record())
	}
	// Output:
	// [ENTRY] seq=1 pc=0xffffffff81234560 arg[0] size=8 ptr=0xffffc90000001000 val=0x2a
	// [RET] seq=2 pc=0xffffffff81234560 size=4 ptr=0x0 val=0x0
}

// Simulate runs a synthetic workload into a buffer until it is full, and
// returns the area with its ground truth: where every record lies.
func ExampleSimulate() {
	cfg := model.DefaultSimConfig()
	cfg.Words = 4096
	res, err := model.Simulate(cfg)
	if err != nil {
		panic(err)
	}
	last := res.Truth[len(res.Truth)-1]
	fmt.Println("records:", len(res.Truth), "dropped:", res.Dropped > 0)
	fmt.Println("the last record ends within the count:", last.Offset+last.Words <= int(res.Area[0])+1)
	// Output:
	// records: 700 dropped: true
	// the last record ends within the count: true
}
