package lab

import (
	"os"
	"strings"
	"testing"
)

func TestParseKselftest(t *testing.T) {
	// The selftest's stdout in the lab guest, on a kernel that still
	// refuses a read-only MAP_SHARED mapping.
	data, err := os.ReadFile("testdata/kselftest-one-failure.txt")
	if err != nil {
		t.Fatal(err)
	}
	r := parseKselftest(string(data))
	if r.Plan != 19 || r.Pass != 18 || r.Fail != 1 || r.Skip != 0 || !r.TotalsSeen || r.TPass != 18 || r.TFail != 1 {
		t.Fatalf("parsed %+v", r)
	}
	if len(r.Failed) != 1 || r.Failed[0] != "8 dev.mmap_read_only" {
		t.Errorf("failed %q", r.Failed)
	}
	errs := r.Check(ksftFail)
	if len(errs) != 1 || errs[0] != "not ok 8 dev.mmap_read_only" {
		t.Errorf("Check(1) = %q", errs)
	}

	// The same run passing, with a skip and the program's status.
	pass := strings.Replace(string(data), "not ok 8 dev.mmap_read_only", "ok 8 dev.mmap_read_only # SKIP no device", 1)
	pass = strings.Replace(pass, "# Totals: pass:18 fail:1 xfail:0 xpass:0 skip:0", "# Totals: pass:18 fail:0 xfail:0 xpass:0 skip:1", 1)
	r = parseKselftest(pass)
	if errs := r.Check(ksftPass); len(errs) != 0 || r.Skip != 1 || r.Skipped[0] != "8 dev.mmap_read_only # SKIP no device" {
		t.Errorf("passing run: %q, %+v", errs, r)
	}
	if errs := r.Check(ksftSkip); len(errs) != 0 {
		t.Errorf("status %d (skip): %q", ksftSkip, errs)
	}

	bad := []struct {
		name, out string
		status    int
		want      string
	}{
		{"status", pass, 2, "exit status 2"},
		{"status 0 with failures", string(data), ksftPass, "exit status 0 despite failures"},
		{"died", strings.Split(pass, "ok 9 ")[0], ksftPass, "plan 1..19 but 8 results"},
		{"no totals", strings.Replace(pass, "# Totals:", "# totals:", 1), ksftPass, `no "# Totals:" line`},
		{"totals disagree", strings.Replace(pass, "skip:1", "skip:2", 1), ksftPass, "disagree with the results"},
		{"nothing passed", "TAP version 13\n1..1\nok 1 a # SKIP x\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0\n", ksftSkip, "no test passed"},
		{"empty", "", ksftPass, "plan 1..-1 but 0 results"},
	}
	for _, c := range bad {
		errs := parseKselftest(c.out).Check(c.status)
		if !strings.Contains(strings.Join(errs, "\n"), c.want) {
			t.Errorf("%s: %q, want %q", c.name, errs, c.want)
		}
	}
}
