package abi

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestIoctlNumbersMatchC compiles the ioctl definitions with this
// machine's <linux/ioctl.h> and compares every number.
func TestIoctlNumbersMatchC(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler: install gcc to compare the ioctl numbers with <linux/ioctl.h>")
	}
	dir := t.TempDir()
	src := `#include <stdio.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/kcov.h>
int main(void) {
	printf("%lu\n", (unsigned long)_IOR('d', 1, unsigned long));
	printf("%lu\n", (unsigned long)_IOR('d', 2, __u64));
	printf("%lu\n", (unsigned long)_IO('d', 100));
	printf("%lu\n", (unsigned long)_IO('d', 101));
	printf("%lu\n", (unsigned long)_IOW('d', 102, __u64));
	printf("%lu\n", (unsigned long)_IO('d', 103));
	printf("%lu\n", (unsigned long)KCOV_INIT_TRACE);
	printf("%lu\n", (unsigned long)KCOV_ENABLE);
	printf("%lu\n", (unsigned long)KCOV_DISABLE);
	printf("%lu\n", (unsigned long)KCOV_TRACE_PC);
	printf("%lu\n", (unsigned long)KCOV_TRACE_CMP);
	return 0;
}
`
	if err := os.WriteFile(filepath.Join(dir, "ioctl.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ioctl")
	if out, err := exec.Command(cc, "-o", bin, filepath.Join(dir, "ioctl.c")).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{IoctlInitTrace, IoctlGetDropped, IoctlEnable, IoctlDisable, IoctlRemoteEnable, IoctlRemoteDisable,
		KcovInitTrace, KcovEnable, KcovDisable, KcovTracePC, KcovTraceCmp}
	names := []string{"KCOV_INIT_TRACE", "KCOV_ENABLE", "KCOV_DISABLE", "KCOV_TRACE_PC", "KCOV_TRACE_CMP"}
	lines := strings.Fields(string(out))
	if len(lines) != len(want) {
		t.Fatalf("C printed %q", out)
	}
	for i, l := range lines {
		name := IoctlName(want[i])
		if k := i - (len(want) - len(names)); k >= 0 {
			name = names[k]
		}
		t.Run(name, func(t *testing.T) {
			v, _ := strconv.ParseUint(l, 10, 32)
			if uint32(v) != want[i] {
				t.Errorf("%s = %#x, C says %#x", name, want[i], v)
			}
		})
	}
	// The numbers docs/device.md gives.
	for _, c := range []struct {
		got, want uint32
	}{{IoctlInitTrace, 0x80086401}, {IoctlEnable, 0x6464}, {IoctlDisable, 0x6465}, {IoctlRemoteEnable, 0x40086466}, {IoctlRemoteDisable, 0x6467}, {IoctlGetDropped, 0x80086402}} {
		t.Run(IoctlName(c.got)+"/documented", func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("%s = %#x, want %#x", IoctlName(c.got), c.got, c.want)
			}
		})
	}
}
