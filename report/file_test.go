package report

import (
	"os"
	"testing"
	"time"
)

// TestWriteFile writes the report of a real trace, for a person to open:
//
//	KCOVDF_REPORT_TRACE=cat.kdf KCOVDF_REPORT_SYMBOLS=vmlinux \
//	KCOVDF_REPORT_OUT=cat.html go test -run '^TestWriteFile$' -v ./report
//
// KCOVDF_REPORT_LAYOUT=layout.jsonl names the calls of a simulated trace
// ("kcovdf sim --layout-out") instead of a vmlinux.
func TestWriteFile(t *testing.T) {
	trace, out := os.Getenv("KCOVDF_REPORT_TRACE"), os.Getenv("KCOVDF_REPORT_OUT")
	if trace == "" || out == "" {
		t.Skip("set KCOVDF_REPORT_TRACE, KCOVDF_REPORT_OUT and KCOVDF_REPORT_SYMBOLS or KCOVDF_REPORT_LAYOUT")
	}
	start := time.Now()
	var task Task
	var err error
	if vmlinux := os.Getenv("KCOVDF_REPORT_SYMBOLS"); vmlinux != "" {
		task, err = vmlinuxTask(trace, vmlinux)
	} else {
		task, err = fileTask(trace, os.Getenv("KCOVDF_REPORT_LAYOUT"))
	}
	if err != nil {
		t.Fatal(err)
	}
	loaded := time.Now()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, []Task{task}, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(out)
	t.Logf("%d calls: loaded and named in %v, report written in %v: %s, %.1f MB", len(task.Tree.Calls), loaded.Sub(start).Round(time.Millisecond), time.Since(loaded).Round(time.Millisecond), out, float64(st.Size())/1e6)
}
