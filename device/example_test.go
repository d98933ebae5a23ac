//go:build linux

package device_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/device"
)

// A fuzzer traces its own syscalls: open the device once, size a buffer,
// then Collect around each program it runs and decode the words. It needs
// a kernel with kcov dataflow, so this example has no output to check.
func ExampleDevice_Collect() {
	d, err := device.Open(device.DefaultPath)
	switch {
	case errors.Is(err, device.ErrNoDevice):
		fmt.Println("this kernel has no kcov dataflow")
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	defer d.Close()
	sizing, err := d.Setup(1 << 16)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("buffer:", sizing)

	words, err := d.Collect(func() error {
		_, err := os.ReadFile("/proc/version") // the syscalls to trace
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dec := abi.NewDecoder(words, abi.Options{Format: abi.FormatV1, BufferWords: sizing.Words})
	for dec.Next() {
		r := dec.Record()
		fmt.Printf("%v pc=%#x %#x\n", r.Kind, r.PC, r.Values)
	}
	if n, err := d.Dropped(); err == nil && n > 0 {
		fmt.Println(n, "records did not fit")
	}
}

// Errors from the kernel match sentinels, and keep the errno.
func ExampleOpError() {
	_, err := device.Open("/nonexistent/kcov_dataflow")
	fmt.Println(errors.Is(err, device.ErrNoDevice))
	var op *device.OpError
	if errors.As(err, &op) {
		fmt.Println(op.Op, op.Path, op.Err)
	}
	// Output:
	// true
	// open /nonexistent/kcov_dataflow no such file or directory
}

// A tool records a command's whole process tree (docs/follow.md): the
// program must call device.ExecTracedChild first thing in main, as it
// starts itself again to enable the mode and exec the command. A kernel
// without the mode fails with ErrNotSupported before the command runs.
func ExampleRecord_follow() {
	rec, err := device.Record(context.Background(), device.RecordOptions{
		Words: 1 << 20, Argv: []string{"sh", "-c", "cat /etc/passwd | wc -l"},
		Follow: true, Notes: os.Stderr, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	switch {
	case errors.Is(err, device.ErrNotSupported):
		fmt.Println("this kernel has no follow mode: record without it")
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	m := rec.Trace.Meta
	ft, err := abi.DecodeFollowChunks(rec.Trace.FollowArea(), m.Follow.ChunkWords, abi.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range ft.Tasks {
		fmt.Printf("task %d (%s), parent %d: %d records, exited %v\n", t.Tid, t.Comm, t.Ptid, len(t.Records), t.Exited)
	}
}
