package lab

import (
	"slices"
	"strings"
	"testing"
)

func TestScanLogClean(t *testing.T) {
	fs, err := ScanLogFile("testdata/serial-clean.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Errorf("clean boot log: findings %v", fs)
	}
}

func TestScanLogFindings(t *testing.T) {
	fs, err := ScanLogFile("testdata/serial-findings.log")
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{Line: 4, Title: "BUG: KASAN: slab-out-of-bounds in kcov_df_write_record+0x1f3/0x250"},
		{Line: 16, Title: "WARNING: CPU: 0 PID: 74 at kernel/kcov_dataflow.c:211 kcov_df_ioctl+0x9a/0x1c0"},
		{Line: 22, Title: "WARNING: possible circular locking dependency detected"},
		{Line: 27, Title: "BUG: kernel NULL pointer dereference, address: 0000000000000008"},
		{Line: 30, Title: "Kernel panic - not syncing: Fatal exception"},
	}
	if len(fs) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%v", len(fs), len(want), fs)
	}
	for i, w := range want {
		if fs[i].Line != w.Line || fs[i].Title != w.Title {
			t.Errorf("finding %d = line %d %q, want line %d %q", i, fs[i].Line, fs[i].Title, w.Line, w.Title)
		}
	}
	// The KASAN report's body runs to its closing ===== line.
	kasan := fs[0].Report
	if len(kasan) != 11 || !strings.HasPrefix(kasan[1], "Write of size 8") || !strings.HasPrefix(kasan[10], "=====") {
		t.Errorf("KASAN report body: %q", kasan)
	}
	if !slices.Contains(kasan, " __sanitizer_cov_trace_args+0x1a5/0x210") {
		t.Errorf("KASAN report lost its stack: %q", kasan)
	}
	// The oops line belongs to the NULL dereference report.
	if !slices.Contains(fs[3].Report, "Oops: Oops: 0000 [#1] PREEMPT SMP KASAN") {
		t.Errorf("oops not in the BUG report: %q", fs[3].Report)
	}
	if got := fs[1].String(); got != "line 16: WARNING: CPU: 0 PID: 74 at kernel/kcov_dataflow.c:211 kcov_df_ioctl+0x9a/0x1c0" {
		t.Errorf("String() = %q", got)
	}
}

func TestScanLogLines(t *testing.T) {
	for _, c := range []struct {
		line  string
		title string // "" when not a finding
	}{
		{"[    5.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:1]", "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:1]"},
		{"[    5.000000] kernel BUG at mm/slub.c:123!", "kernel BUG at mm/slub.c:123!"},
		{"[    5.000000] UBSAN: shift-out-of-bounds in fs/open.c:9:3", "UBSAN: shift-out-of-bounds in fs/open.c:9:3"},
		{"[    5.000000] INFO: task sh:1 blocked for more than 120 seconds.", "INFO: task sh:1 blocked for more than 120 seconds."},
		{"[    5.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"},
		{"[    5.000000] general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] SMP KASAN", "general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] SMP KASAN"},
		{"[    5.000000] WARNING: possible recursive locking detected", "WARNING: possible recursive locking detected"},
		{"[    0.100000] Bugs: fixed 0 spectre variants", ""},
		{"[    0.100000] printk: console [ttyS0] enabled", ""},
		{"kcovdf-init: error: BUG: not a kernel report", ""},
		{"[    0.100000] kasan: KernelAddressSanitizer initialized (generic)", ""},
	} {
		t.Run(c.line, func(t *testing.T) {
			fs, err := ScanLog(strings.NewReader(c.line + "\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if len(fs) > 0 {
				got = fs[0].Title
			}
			if got != c.title {
				t.Errorf("ScanLog(%q) = %q, want %q", c.line, got, c.title)
			}
		})
	}
}

// TestScanLogKUnit: a failed KUnit case and its suite are findings; passed
// and skipped ones are not.
func TestScanLogKUnit(t *testing.T) {
	log := `[    0.98] KTAP version 1
[    0.98] 1..1
[    0.98]     KTAP version 1
[    0.98]     # Subtest: kcov_dataflow
[    0.98]     1..3
[    1.02]     ok 1 kcov_df_test_header_meta
[    1.03]     # kcov_df_test_scalars: EXPECTATION FAILED at kernel/kcov_dataflow_test.c:120
[    1.03]     Expected rec[3] == 0x1234, but rec[3] == 0x34
[    1.04]     not ok 2 kcov_df_test_scalars
[    1.05]     ok 3 kcov_df_test_fault # SKIP no unmapped page
[    1.08] # kcov_dataflow: pass:1 fail:1 skip:1 total:3
[    1.08] not ok 1 kcov_dataflow
`
	fs, err := ScanLog(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, f := range fs {
		titles = append(titles, f.String())
	}
	want := []string{"line 9: not ok 2 kcov_df_test_scalars", "line 12: not ok 1 kcov_dataflow"}
	if !slices.Equal(titles, want) {
		t.Errorf("findings %q, want %q", titles, want)
	}
}
