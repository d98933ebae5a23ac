package abi_test

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/golden"
	"github.com/kcovdf/kcovdf/model"
)

const (
	followPC   = 0xffffffff81100000
	followData = 0xffff888000100000
	followTab  = 0xffffffff82000000
)

// followTree runs a small process tree in the model's follow mode and
// returns the area, the truth of every record per task, and GET_DROPPED:
// sh writes, forks cat (which execs) and wc, wc starts a thread; records
// with fields too, and some that no longer fit once the buffer is full.
func followTree(t *testing.T) ([]uint64, map[int][]model.Span, uint64) {
	t.Helper()
	dev := model.NewDevice(nil)
	dev.Mem.Map(followData, 64)
	for i := range 8 {
		dev.Mem.WriteU64(followData+8*uint64(i), uint64(0x1111*(i+1)))
	}
	dev.Mem.Map(followTab, 48)
	for i := range 3 {
		dev.Mem.WriteU64(followTab+16*uint64(i), 16*uint64(i))
		dev.Mem.WriteU64(followTab+16*uint64(i)+8, 8)
	}
	const n = 512 // one page: 7 chunks of 64 words
	root, f := dev.NewTask(), dev.Open()
	if _, err := f.Ioctl(root, abi.IoctlInitTrace, uint64(n)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Ioctl(root, abi.IoctlEnableFollow, 64); err != nil {
		t.Fatal(err)
	}
	area, err := f.Mmap(0, n*8, true)
	if err != nil {
		t.Fatal(err)
	}
	truth := map[int][]model.Span{}
	var mu sync.Mutex
	watch := func(k *model.Task) {
		k.OnRecord = func(off, words int) {
			mu.Lock()
			truth[k.ID] = append(truth[k.ID], model.Span{Offset: off, Words: words})
			mu.Unlock()
		}
	}
	call := func(k *model.Task, arg uint64) {
		k.TraceArgs(followPC, 0, 8, followData, 0, 0)
		k.TraceArgs(followPC, 1, 24, followData, followTab, 3)
		k.TraceRet(followPC, 8, followData+arg, 0, 0)
	}
	root.Comm = "sh"
	watch(root)
	call(root, 0)
	cat, wc := root.Fork(), root.Fork()
	thr := wc.Thread()
	for _, k := range []*model.Task{cat, wc, thr} {
		watch(k)
	}
	call(cat, 8)
	cat.Exec("cat")
	for range 4 {
		call(cat, 16)
	}
	wc.Exec("wc")
	call(wc, 24)
	call(thr, 32)
	cat.Exit()
	call(root, 40)
	// 14 words a call, 4 calls a chunk: the thread's fourth chunk is
	// not there; it drops its last 3 calls' 9 records.
	for range 14 {
		call(thr, 48)
	}
	dropped, _ := f.Ioctl(root, abi.IoctlGetDropped, 0)
	f.Ioctl(root, abi.IoctlDisable, 0)
	return area, truth, dropped
}

// Every task's stream is exactly what the model wrote, in order, from
// sequence 1; drops add up.
func TestDecodeFollowModel(t *testing.T) {
	area, truth, dropped := followTree(t)
	ft, err := abi.DecodeFollow(area, abi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ft.Anomalies) > 0 {
		t.Fatalf("anomalies: %v", ft.Anomalies)
	}
	if len(ft.Tasks) != len(truth) {
		t.Fatalf("%d streams, %d tasks wrote", len(ft.Tasks), len(truth))
	}
	for tid, spans := range truth {
		ts := ft.Task(tid)
		var got []model.Span
		for i, r := range ts.Records {
			got = append(got, model.Span{Offset: r.Offset, Words: r.Words()})
			if r.Seq != uint32(i+1) {
				t.Fatalf("task %d record %d has sequence %d", tid, i, r.Seq)
			}
		}
		if !slices.Equal(got, spans) {
			t.Fatalf("task %d: records at %v, written at %v", tid, got, spans)
		}
	}
	if !ft.Full || ft.Dropped != 9 || dropped != 9 {
		t.Fatalf("full %v, %d dropped in chunks, %d in all", ft.Full, ft.Dropped, dropped)
	}
	if snap := abi.SnapshotFollow(area, 64); !slices.Equal(snap, area) {
		t.Fatal("the snapshot of a final buffer differs from it")
	}
}

// TestFollowGolden: the text of the tree's decode, checked in.
func TestFollowGolden(t *testing.T) {
	area, _, _ := followTree(t)
	ft, err := abi.DecodeFollow(area, abi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := ft.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "follow.txt", out.Bytes())
}

// What a final buffer must not have is reported, never trusted.
func TestDecodeFollowAnomalies(t *testing.T) {
	clean, _, _ := followTree(t)
	chunk := func(k int) int { return 1 + 64*k }
	for _, c := range []struct {
		name  string
		spoil func(a []uint64)
		kind  abi.AnomalyKind
	}{
		{"bad tag", func(a []uint64) { a[chunk(2)] = 0x1234 }, abi.AnomalyUnknownType},
		{"untagged before tagged", func(a []uint64) { clear(a[chunk(1) : chunk(1)+abi.ChunkHeaderWords]) }, abi.AnomalyUnattributed},
		{"area[0] changed", func(a []uint64) { a[0] = 7 }, abi.AnomalyTornTail},
		{"count past the chunk", func(a []uint64) { a[chunk(0)+abi.ChunkUsed] = 1000 }, abi.AnomalyTornTail},
		{"ordinal gap", func(a []uint64) { a[chunk(5)] += 5 }, abi.AnomalySeqGap},
		{"first chunk not ordinal 0", func(a []uint64) { a[chunk(3)] += 1 }, abi.AnomalySeqGap},
		{"sequence gap", func(a []uint64) { a[chunk(0)+abi.ChunkHeaderWords] += 1 }, abi.AnomalySeqGap},
	} {
		area := slices.Clone(clean)
		c.spoil(area)
		ft, err := abi.DecodeFollow(area, abi.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		found := false
		for _, a := range ft.Anomalies {
			found = found || a.Kind == c.kind
		}
		if !found {
			t.Errorf("%s: no %s anomaly in %v", c.name, c.kind, ft.Anomalies)
		}
	}
	if _, err := abi.DecodeFollow(make([]uint64, 1000), abi.Options{}); err == nil {
		t.Error("an area without a tag decoded as follow mode")
	}
	if ft, err := abi.DecodeFollowChunks(make([]uint64, 1000), 64, abi.Options{}); err != nil || len(ft.Tasks) != 0 || len(ft.Anomalies) != 0 {
		t.Errorf("an empty area with a known chunk size: %v, %+v", err, ft)
	}
	if _, err := abi.DecodeFollowChunks(make([]uint64, 1000), 100, abi.Options{}); err == nil {
		t.Error("a chunk size of 100 words accepted")
	}
}

// BenchmarkDecodeFollow: a full 4 M-word buffer in 1,024-word chunks,
// 64 tasks writing in turn, 4-word records; every record is collected
// into its task's stream.
func BenchmarkDecodeFollow(b *testing.B) {
	dev := model.NewDevice(nil)
	n := 1 << 22
	root, f := dev.NewTask(), dev.Open()
	f.Ioctl(root, abi.IoctlInitTrace, uint64(n))
	f.Ioctl(root, abi.IoctlEnableFollow, 0)
	area, _ := f.Mmap(0, uint64(n)*8, true)
	var tasks []*model.Task
	for range 64 {
		tasks = append(tasks, root.Fork())
	}
	for i := 0; ; i++ {
		k := tasks[i%len(tasks)]
		before := area[0]
		for range 100 {
			k.TraceArgs(followPC, 0, 8, 0, 0, 0)
			k.TraceRet(followPC, 8, 0, 0, 0)
		}
		if d, _ := f.Ioctl(root, abi.IoctlGetDropped, 0); d > 0 && area[0] == before {
			break
		}
	}
	table := abi.NewTable(2)
	table.Set(followPC, abi.KindEntry, 0, 4)
	table.Set(followPC, abi.KindReturn, 0, 4)
	for _, c := range []struct {
		name  string
		table *abi.Table
	}{{"exact", table}, {"resync", nil}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(n) * 8)
			for b.Loop() {
				ft, err := abi.DecodeFollow(area, abi.Options{Table: c.table})
				if err != nil || len(ft.Tasks) != 64 {
					b.Fatal(err)
				}
			}
		})
	}
}

// A process tree traced in follow mode: the root and the child it forks
// each get chunks of their own; the decode gives one stream per task with
// its process, its parent and its name.
func ExampleDecodeFollow() {
	dev := model.NewDevice(nil)
	sh, f := dev.NewTask(), dev.Open()
	sh.Comm = "sh"
	f.Ioctl(sh, abi.IoctlInitTrace, 512)
	area, _ := f.Mmap(0, 512*8, true)
	f.Ioctl(sh, abi.IoctlEnableFollow, 64) // a kernel without the mode: ENOTTY
	sh.TraceArgs(followPC, 0, 0, 0, 0, 0)
	cat := sh.Fork()
	cat.Exec("cat")
	cat.TraceArgs(followPC, 0, 0, 0, 0, 0)
	cat.TraceRet(followPC, 8, 0, 0, 0)
	cat.Exit()
	sh.TraceRet(followPC, 0, 0, 0, 0)
	f.Ioctl(sh, abi.IoctlDisable, 0)

	ft, err := abi.DecodeFollow(area, abi.Options{})
	if err != nil {
		panic(err)
	}
	for _, t := range ft.Tasks {
		fmt.Printf("task %d %s, parent %d, exited %v:\n", t.Tid, t.Comm, t.Ptid, t.Exited)
		for _, r := range t.Records {
			fmt.Println(" ", r.String())
		}
	}
	// Output:
	// task 1 sh, parent 0, exited false:
	//   [ENTRY] seq=1 pc=0xffffffff81100000 arg[0] size=0 ptr=0x0 val=0x0
	//   [RET] seq=2 pc=0xffffffff81100000 size=0 ptr=0x0 val=0x0
	// task 2 cat, parent 1, exited true:
	//   [ENTRY] seq=1 pc=0xffffffff81100000 arg[0] size=0 ptr=0x0 val=0x0
	//   [RET] seq=2 pc=0xffffffff81100000 size=8 ptr=0x0 val=0x0
}
