// Package e2e checks recording from a real kernel: the conformance suite,
// the stress run and an exact trace of a real command, in the lab.
package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/internal/lab"
)

// These tests build (or find cached) and boot lab kernels; they run only
// when asked, as "make e2e" does after internal/lab/e2e.sh:
//
//	KCOVDF_E2E=1 go test ./e2e            # plain kernel
//	KCOVDF_E2E_KASAN=1 go test ./e2e      # KASAN + lockdep kernel

const guestScript = `set -e
kcovdf conformance
kcovdf conformance --stress 10s --threads 8
kcovdf record -o cat.kdf -- cat /etc/passwd
`

func TestRecordE2E(t *testing.T) {
	if os.Getenv("KCOVDF_E2E") != "1" {
		t.Skip("set KCOVDF_E2E=1 to build and boot the lab kernel")
	}
	record(t, lab.KernelOptions{}, guestScript)
}

func TestRecordE2EKASAN(t *testing.T) {
	if os.Getenv("KCOVDF_E2E_KASAN") != "1" {
		t.Skip("set KCOVDF_E2E_KASAN=1 to build and boot the KASAN lab kernel")
	}
	record(t, lab.KernelOptions{KASAN: true}, guestScript)
}

func record(t *testing.T, opts lab.KernelOptions, script string) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	wd, _ := os.Getwd()
	repo, err := lab.FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lab.New(lab.Config{RepoDir: repo, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	k, err := l.BuildKernel(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	ir, err := l.BuildInitramfs(ctx, lab.InitramfsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	res, err := l.Run(ctx, lab.Machine{Kernel: k, Initramfs: ir}, lab.RunOptions{Args: []string{"sh", "-c", script}, Dir: dir, Stdout: &stdout, Stderr: &stderr})
	t.Logf("guest stdout:\n%s\nguest stderr:\n%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("guest script exited %d", res.ExitCode)
	}
	for _, want := range []string{" passed, 0 failed", "every buffer gap-free"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("guest output lacks %q", want)
		}
	}
	checkCatTrace(t, filepath.Join(dir, "cat.kdf"), k)
}

// checkCatTrace decodes the trace of "cat /etc/passwd" exactly with the
// build's layout and vmlinux, and finds the open of the file: AT_FDCWD,
// flags O_RDONLY|O_LARGEFILE, mode 0, and a return value of fd 3.
func checkCatTrace(t *testing.T, path string, k *lab.Kernel) {
	tr, err := abi.LoadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	layout, err := abi.LoadLayout(k.Layout)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := debuginfo.Open(k.Vmlinux, debuginfo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sp := debuginfo.SpaceOf(&tr.Meta, ix)
	table, _ := debuginfo.Bind(layout, ix).Table(sp)
	open := ix.ByName("do_sys_openat2")
	if len(open) != 1 {
		t.Fatalf("do_sys_openat2 symbols: %v", open)
	}
	openPC := sp.Runtime(open[0].Low)
	d := abi.NewDecoder(tr.Words, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: tr.Meta.BufferWords})
	var args [3][]uint64
	var ret []uint64
	opens := 0
	for d.Next() {
		r := d.Record()
		if r.PC != openPC {
			continue
		}
		if r.Kind == abi.KindEntry && r.ArgIdx < 3 {
			if r.ArgIdx == 0 {
				opens++
			}
			args[r.ArgIdx] = append([]uint64(nil), r.Values...)
		}
		if r.Kind == abi.KindReturn {
			ret = append([]uint64(nil), r.Values...)
		}
	}
	s := d.Summary()
	t.Logf("cat trace: %d records, %d words, %d unattributed, anomalies %v", s.Records, s.Count, s.Unattributed, s.AnomalyCounts)
	if s.Records == 0 || s.Unattributed != 0 || !s.Exact() {
		t.Fatalf("the trace does not decode exactly: %v", s.Anomalies)
	}
	if opens != 1 {
		t.Fatalf("cat opened %d files through do_sys_openat2, want 1", opens)
	}
	const atFDCWD = 0xffffff9c // -100 as the 4-byte int it is
	if args[0][0] != atFDCWD || len(args[2]) != 3 || args[2][0] != 0x8000 || args[2][1] != 0 || ret == nil || ret[0] != 3 {
		t.Fatalf("do_sys_openat2(dfd %#x, how %#x) = %#x, want (AT_FDCWD, {flags 0x8000 (O_RDONLY|O_LARGEFILE), mode 0, resolve 0}) = 3", args[0], args[2], ret)
	}
}
