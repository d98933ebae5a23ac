// Package e2e checks recording from a real kernel: the conformance suite,
// the stress run and an exact trace of a real command, in the lab.
package e2e

import (
	"debug/elf"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
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
kcovdf conformance --stress 10s --follow --threads 8 --forks 3
kcovdf record -o cat.kdf -- cat /etc/passwd
`

func TestRecordE2E(t *testing.T) {
	needEnv(t, "KCOVDF_E2E", "build and boot the lab kernel")
	record(t, lab.KernelOptions{}, guestScript)
}

func TestRecordE2EKASAN(t *testing.T) {
	needEnv(t, "KCOVDF_E2E_KASAN", "build and boot the KASAN lab kernel")
	record(t, lab.KernelOptions{KASAN: true}, guestScript)
}

func record(t *testing.T, opts lab.KernelOptions, script string) {
	dir, k, stdout := runGuest(t, opts, script)
	for _, want := range []string{" passed, 0 failed", "every buffer gap-free"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("guest output lacks %q", want)
		}
	}
	checkFollowStress(t, stdout)
	checkCatTrace(t, filepath.Join(dir, "cat.kdf"), k)
}

// checkCatTrace decodes the trace of "cat /etc/passwd" exactly with the
// layout records the vmlinux itself carries (each bound to its function's
// address, no name matching), and finds the open of the file: AT_FDCWD,
// flags O_RDONLY|O_LARGEFILE, mode 0, and a return value of fd 3.
func checkCatTrace(t *testing.T, path string, k *lab.Kernel) {
	tr, err := abi.LoadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	layout, err := abi.LoadLayout(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	checkLayoutBinding(t, layout, k.Vmlinux)
	slide, _ := tr.Meta.Slide()
	table, errs := abi.TableFromLayout(layout, slide)
	if len(errs) > 0 {
		t.Fatalf("layout records conflict: %v", errs)
	}
	var openPC uint64
	for _, f := range layout.Lookup("do_sys_openat2") {
		pc, _, _ := f.Addr()
		if openPC != 0 {
			t.Fatalf("two layout records for do_sys_openat2")
		}
		openPC = pc + slide
	}
	if openPC == 0 {
		t.Fatal("no layout record for do_sys_openat2")
	}
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

// checkLayoutBinding checks the vmlinux's layout records against its symbol
// table: every record sits at the address of a function of its name, and
// static functions that share a name (the lab kernel has three instrumented
// type_show functions) each have their own record at their own address.
func checkLayoutBinding(t *testing.T, l *abi.Layout, vmlinux string) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	names := map[uint64][]string{}
	defined := map[string]bool{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			names[s.Value] = append(names[s.Value], s.Name)
			defined[s.Name] = true
		}
	}
	bad, weak := 0, 0
	l.Addresses(func(pc uint64, fn *abi.FuncShape) {
		if len(names[pc]) == 0 && defined[fn.Func] {
			// A __weak default another file overrides: its code stays
			// in the image, nameless, and the name is the override's.
			weak++
			return
		}
		if !slices.Contains(names[pc], fn.Func) {
			if bad++; bad <= 5 {
				t.Errorf("layout record of %s at %#x: the symbols there are %v", fn.Func, pc, names[pc])
			}
		}
	})
	if len(l.Funcs) < 1000 || bad > 0 {
		t.Fatalf("%d layout records, %d not at a function of their name", len(l.Funcs), bad)
	}
	// Static functions that share a name each have their own record at
	// their own address (the kernel has several type_show).
	byName := map[string]map[uint64]int{}
	l.Addresses(func(pc uint64, fn *abi.FuncShape) {
		if byName[fn.Func] == nil {
			byName[fn.Func] = map[uint64]int{}
		}
		byName[fn.Func][pc]++
	})
	for name, at := range byName {
		for pc, n := range at {
			if n > 1 {
				t.Errorf("%s: %d layout records at %#x", name, n, pc)
			}
		}
	}
	if n := len(byName["type_show"]); n < 2 {
		t.Errorf("type_show: %d layout addresses, want one for each instrumented static type_show", n)
	}
	t.Logf("layout: %d records bound by address, %d of them overridden __weak defaults", len(l.Funcs), weak)
}

// checkFollowStress checks the follow-mode stress ran and found every
// stream exact; on a kernel without the mode it must have skipped for that
// reason and no other (the follow cases of the table too).
func checkFollowStress(t *testing.T, stdout string) {
	t.Helper()
	const noMode = "the device refuses KCOV_DF_ENABLE_FOLLOW with ENOTTY"
	if strings.Contains(stdout, "stress --follow: SKIP "+noMode) {
		t.Logf("the kernel has no follow mode: the follow stress skipped")
		return
	}
	if !strings.Contains(stdout, "every stream exact") {
		t.Errorf("guest output lacks the follow stress's result")
	}
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, "follow: ") && strings.Contains(l, "# SKIP") {
			t.Errorf("a follow case skipped on a kernel with the mode: %s", l)
		}
	}
}
