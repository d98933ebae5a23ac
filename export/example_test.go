package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/internal/exporttest"
)

// A task's calls as JSON Lines, and as Parquet tables.
func Example() {
	// A simulated task; kcovdf export builds its tasks from trace files
	// with export.NewTask, named by the traced kernel's symbols.
	task, err := exporttest.Sim(3, 1024)
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	if err := export.WriteJSONL(&b, []*export.Task{task}); err != nil {
		panic(err)
	}
	var first export.CallLine
	json.Unmarshal(bytes.SplitN(b.Bytes(), []byte("\n"), 2)[0], &first)
	fmt.Printf("%d calls; the first: %s(%s=%s, ...)\n", len(task.Tree.Calls), first.Func, first.Args[1].Name, first.Args[1].Text)

	dir, _ := os.MkdirTemp("", "tables")
	defer os.RemoveAll(dir)
	if err := export.WriteParquet(dir, []*export.Task{task}); err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	fmt.Println(len(files), "tables")
	// Output:
	// 47 calls; the first: path_open_28(a1=49760, ...)
	// 7 tables
}

// A task of a follow-mode trace carries its thread: its ids go into every
// format (here JSON Lines).
func ExampleThread() {
	task, err := exporttest.Sim(3, 1024)
	if err != nil {
		panic(err)
	}
	task.Thread = &export.Thread{Tid: 12, Tgid: 10, Ptid: 10, Comm: "worker"}
	task.ID = export.ThreadID(task.ID, task.Thread)
	var b bytes.Buffer
	if err := export.WriteJSONL(&b, []*export.Task{task}); err != nil {
		panic(err)
	}
	var first export.CallLine
	json.Unmarshal(bytes.SplitN(b.Bytes(), []byte("\n"), 2)[0], &first)
	fmt.Printf("call %d of task %d (%s) of process %d: %s\n", first.Call, first.Tid, first.Comm, first.Tgid, first.Func)
	// Output:
	// call 0 of task 12 (worker) of process 10: path_open_28
}
