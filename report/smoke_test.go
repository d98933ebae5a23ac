package report

import (
	"os"
	"testing"
)

func TestSmoke(t *testing.T) {
	task, err := simTask(1<<16, 3)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create("/tmp/12c-smoke.html")
	defer f.Close()
	if err := WriteHTML(f, []Task{task}, Options{}); err != nil {
		t.Fatal(err)
	}
}
