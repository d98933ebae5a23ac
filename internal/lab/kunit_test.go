package lab

import (
	"strings"
	"testing"
)

// A boot log as the lab's console shows it: printk timestamps, the suite's
// KTAP indented one level.
const kunitLog = `[    0.912345] KTAP version 1
[    0.912400] 1..1
[    0.912500]     KTAP version 1
[    0.912600]     # Subtest: kcov_dataflow
[    0.912700]     1..3
[    0.913000]     ok 1 kcov_df_test_scalars
[    0.914000]     ok 2 kcov_df_test_struct
[    0.915000]     ok 3 kcov_df_test_fault # SKIP no unmapped page
[    0.915100] # kcov_dataflow: pass:2 fail:0 skip:1 total:3
[    0.915200] # Totals: pass:2 fail:0 skip:1 total:3
[    0.915300] ok 1 kcov_dataflow
`

func TestFindKUnitSuite(t *testing.T) {
	s, ok := FindKUnitSuite(kunitLog, "kcov_dataflow")
	if !ok || s != (KUnitSuite{Name: "kcov_dataflow", Pass: 2, Skip: 1, Total: 3}) {
		t.Fatalf("got %+v, %v", s, ok)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
	if _, ok := FindKUnitSuite(kunitLog, "kcov"); ok {
		t.Error("found a suite named kcov in a log that has none")
	}
	if _, ok := FindKUnitSuite("", "kcov_dataflow"); ok {
		t.Error("found a suite in an empty log")
	}

	for _, c := range []struct{ name, from, to, want string }{
		{"failed", "pass:2 fail:0 skip:1 total:3\n[    0.915200] #", "pass:1 fail:1 skip:1 total:3\n[    0.915200] #", "1 of 3 cases failed"},
		{"none passed", "pass:2 fail:0 skip:1 total:3\n[    0.915200] #", "pass:0 fail:0 skip:3 total:3\n[    0.915200] #", "no case passed"},
		{"counts", "pass:2 fail:0 skip:1 total:3\n[    0.915200] #", "pass:2 fail:0 skip:0 total:3\n[    0.915200] #", "is not the total"},
	} {
		s, ok := FindKUnitSuite(strings.Replace(kunitLog, c.from, c.to, 1), "kcov_dataflow")
		if !ok {
			t.Errorf("%s: suite not found", c.name)
			continue
		}
		if err := s.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
