package lab

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestCommandCPU: a command's CPU time includes its children's, so a
// build's figure covers the compilers make starts.
func TestCommandCPU(t *testing.T) {
	var cpu time.Duration
	c := command{op: "test", step: "busy", log: filepath.Join(t.TempDir(), "log"), cpu: &cpu}
	// The busy loop runs in a grandchild: sh starts sh.
	busy := `i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done`
	if err := c.run(context.Background(), "sh", "-c", "sh -c '"+busy+"'; true"); err != nil {
		t.Fatal(err)
	}
	if cpu < 10*time.Millisecond {
		t.Fatalf("CPU time %v: the grandchild's loop is not counted", cpu)
	}
	before := cpu
	if err := c.run(context.Background(), "true"); err != nil {
		t.Fatal(err)
	}
	if cpu < before || cpu-before > time.Second {
		t.Fatalf("CPU time went from %v to %v for running true: it must add up, and true costs next to nothing", before, cpu)
	}
}
