package model

import (
	"slices"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

const (
	tPC    = 0xffffffff81234560
	tData  = 0xffff888000100000
	tTable = 0xffffffff82000000
	tHole  = 0xffff888000200000
)

// enabled returns a device, a task enabled with cmd (ENABLE, or
// ENABLE_FOLLOW with arg) and its buffer of n words; small buffers cannot
// be mmap'd (not whole pages), so it looks inside.
func enabled(t *testing.T, n int, cmd uint32, arg uint64) (*Device, *Task, *File, []uint64) {
	t.Helper()
	dev := NewDevice(nil)
	task := dev.NewTask()
	f := dev.Open()
	if _, err := f.Ioctl(task, abi.IoctlInitTrace, uint64(n)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Ioctl(task, cmd, arg); err != nil {
		t.Fatalf("%s(%d): %v", abi.IoctlName(cmd), arg, err)
	}
	return dev, task, f, f.buf.words
}

// traced returns a device, a traced task and its mapped buffer of n words.
func traced(t *testing.T, n int) (*Device, *Task, *File, []uint64) {
	t.Helper()
	dev, task, f, area := enabled(t, n, abi.IoctlEnable, 0)
	// Data: bytes 0x01..0x40 at tData; a field table of three pairs.
	for i := range 64 {
		dev.Mem.Write(tData+uint64(i), []byte{byte(i + 1)})
	}
	for i, p := range [][2]uint64{{0, 4}, {8, 16}, {62, 8}} {
		dev.Mem.WriteU64(tTable+16*uint64(i), p[0])
		dev.Mem.WriteU64(tTable+16*uint64(i)+8, p[1])
	}
	return dev, task, f, area
}

func TestWriterScalars(t *testing.T) {
	cases := []struct {
		name     string
		size     uint32
		ptr      uint64
		wantSize uint64
		want     uint64
	}{
		{"u8", 1, tData, 1, 0x01},
		{"u16", 2, tData, 2, 0x0201},
		{"u32", 4, tData, 4, 0x04030201},
		{"u64", 8, tData, 8, 0x0807060504030201},
		{"wide keeps low 8 bytes", 16, tData, 16, 0x0807060504030201},
		{"size clamped to 255", 300, tData, 255, 0x0807060504030201},
		{"marker", 0, 0, 0, 0},
		{"NULL", 8, 0, 8, 0},
		{"ERR_PTR", 8, ^uint64(21), 8, 0},
		{"fault", 8, tHole, 8, 0},
		{"straddles into a hole", 8, tData + 4092, 8, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev, task, _, area := traced(t, 64)
			dev.Mem.Unmap(tData+4096, 4096)
			task.TraceArgs(tPC, 3, c.size, c.ptr, 0, 0)
			want := []uint64{4, abi.V1Header(abi.KindEntry, 1), tPC, 3<<56 | c.wantSize<<48 | c.ptr&(1<<48-1), c.want}
			if got := area[:5]; !slices.Equal(got, want) {
				t.Errorf("%s: area %#x, want %#x", c.name, got, want)
			}
		})
	}
}

func TestWriterStructs(t *testing.T) {
	cases := []struct {
		name  string
		ptr   uint64
		table uint64
		want  []uint64
	}{
		// Field 1 is 16 bytes wide: its first 8 are read. Field 2 at
		// offset 62 straddles the end of the mapped data: it faults.
		{"fields", tData, tTable, []uint64{0x04030201, 0x100f0e0d0c0b0a09, 0}},
		{"NULL faults per field", 0, tTable, []uint64{0, 0, 0}},
		{"ERR_PTR", ^uint64(11), tTable, []uint64{abi.BadAddr, abi.BadAddr, abi.BadAddr}},
		{"unmapped struct", tHole, tTable, []uint64{0, 0, 0}},
		{"unreadable table", tData, tHole, []uint64{abi.BadAddr, abi.BadAddr, abi.BadAddr}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev, task, _, area := traced(t, 64)
			dev.Mem.Unmap(tData+4096, 4096)
			dev.Mem.Write(tData+62, []byte{0xaa, 0xbb})
			dev.Mem.Unmap(tData, 4096)
			dev.Mem.Map(tData, 64)
			for i := range 64 {
				dev.Mem.Write(tData+uint64(i), []byte{byte(i + 1)})
			}
			if c.name == "fields" {
				// Make offset 62 + 8 cross into an unmapped page.
				dev.Mem.WriteU64(tTable+32, 4092)
				dev.Mem.WriteU64(tTable+40, 8)
			}
			task.TraceRet(tPC, 8, c.ptr, c.table, 3)
			want := append([]uint64{6, abi.V1Header(abi.KindReturn, 1), tPC, 8<<48 | c.ptr&(1<<48-1)}, c.want...)
			if got := area[:7]; !slices.Equal(got, want) {
				t.Errorf("%s: area %#x, want %#x", c.name, got, want)
			}
		})
	}
}

func TestWriterOverflowDropsWholeRecords(t *testing.T) {
	_, task, f, area := traced(t, 12)
	task.TraceArgs(tPC, 0, 8, tData, 0, 0)      // 4 words: 1..4
	task.TraceArgs(tPC, 1, 8, tData, tTable, 3) // 6 words: 5..10
	task.TraceArgs(tPC, 2, 8, tData, tTable, 3) // does not fit: dropped
	task.TraceArgs(tPC, 3, 8, tData, 0, 0)      // 4 words: does not fit either
	if area[0] != 10 {
		t.Fatalf("area[0] = %d, want 10", area[0])
	}
	if d, _ := f.Ioctl(task, abi.IoctlGetDropped, 0); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	// Reset: the sequence goes on where it was (dropped records took none).
	area[0] = 0
	task.TraceArgs(tPC, 4, 8, tData, 0, 0)
	if area[1] != abi.V1Header(abi.KindEntry, 3) || area[0] != 4 {
		t.Fatalf("after reset: header %#x count %d, want seq 3 at word 1", area[1], area[0])
	}
	// A count user space corrupted past the buffer drops, never writes out of bounds.
	area[0] = 1 << 40
	task.TraceArgs(tPC, 0, 8, tData, 0, 0)
	if area[0] != 1<<40 {
		t.Fatalf("corrupt count changed to %d", area[0])
	}
	// Re-enabling restarts the sequence at 1 and the drop counter at 0.
	area[0] = 0
	f.Ioctl(task, abi.IoctlDisable, 0)
	f.Ioctl(task, abi.IoctlEnable, 0)
	task.TraceArgs(tPC, 0, 8, tData, 0, 0)
	if area[1] != abi.V1Header(abi.KindEntry, 1) {
		t.Fatalf("after re-enable header %#x, want seq 1", area[1])
	}
	if d, _ := f.Ioctl(task, abi.IoctlGetDropped, 0); d != 0 {
		t.Fatalf("dropped %d after re-enable, want 0", d)
	}
}

func TestWriterSequenceWraps(t *testing.T) {
	_, task, _, area := traced(t, 64)
	task.seq = abi.SeqMask - 1
	for range 3 {
		task.TraceArgs(tPC, 0, 8, tData, 0, 0)
	}
	got := []uint64{area[1] & abi.SeqMask, area[5] & abi.SeqMask, area[9] & abi.SeqMask}
	if !slices.Equal(got, []uint64{abi.SeqMask, 0, 1}) {
		t.Fatalf("sequence %d, want %d 0 1", got, abi.SeqMask)
	}
}

func TestWriterContexts(t *testing.T) {
	dev, task, f, area := traced(t, 64)
	task.Interrupt(func() { task.TraceArgs(tPC, 0, 8, tData, 0, 0) })
	if area[0] != 0 {
		t.Fatal("interrupt context was recorded")
	}
	child := task.Fork()
	child.TraceArgs(tPC, 0, 8, tData, 0, 0)
	if area[0] != 0 || child.Tracing() {
		t.Fatal("forked child writes into the parent's buffer")
	}
	// Close from another task: the traced task stops at its next callback,
	// and may trace through a new file.
	other := dev.NewTask()
	f.Close(other)
	task.TraceArgs(tPC, 0, 8, tData, 0, 0)
	if area[0] != 0 || task.Tracing() {
		t.Fatal("traced task kept writing after its file was closed")
	}
	g := dev.Open()
	g.Ioctl(task, abi.IoctlInitTrace, 64)
	if _, err := g.Ioctl(task, abi.IoctlEnable, 0); err != nil {
		t.Fatalf("enable on a new file after the close: %v", err)
	}
	task.Exit()
	if task.Tracing() {
		t.Fatal("exited task still traced")
	}
}
