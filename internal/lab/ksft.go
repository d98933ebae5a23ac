package lab

import (
	"fmt"
	"strconv"
	"strings"
)

// Exit statuses of a kselftest (tools/testing/selftests/kselftest.h).
const (
	ksftPass = 0
	ksftFail = 1
	ksftSkip = 4
)

// ksftResult is what a kselftest_harness.h program printed: TAP 13 result
// lines, its plan and its "# Totals:" line.
type ksftResult struct {
	Plan                                        int // from "1..N"; -1 when missing
	Pass, Fail, Skip, XFail, XPass              int // counted from the result lines
	Failed                                      []string
	Skipped                                     []string // "name # SKIP reason"
	TotalsSeen                                  bool
	TPass, TFail, TSkip, TXFail, TXPass, TError int // the Totals line
}

// parseKselftest reads a kselftest's stdout. Lines that are not TAP
// (the guest's own output, "# " diagnostics) are ignored.
func parseKselftest(out string) ksftResult {
	r := ksftResult{Plan: -1}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "1.."):
			if n, err := strconv.Atoi(strings.TrimPrefix(line, "1..")); err == nil {
				r.Plan = n
			}
		case strings.HasPrefix(line, "not ok "):
			r.Fail++
			r.Failed = append(r.Failed, strings.TrimPrefix(line, "not ok "))
		case strings.HasPrefix(line, "ok "):
			rest := strings.TrimPrefix(line, "ok ")
			_, directive, _ := strings.Cut(rest, " # ")
			switch {
			case strings.HasPrefix(directive, "SKIP"):
				r.Skip++
				r.Skipped = append(r.Skipped, rest)
			case strings.HasPrefix(directive, "XFAIL"):
				r.XFail++
			case strings.HasPrefix(directive, "XPASS"):
				r.XPass++
			default:
				r.Pass++
			}
		case strings.HasPrefix(line, "# Totals: "):
			n, err := fmt.Sscanf(line, "# Totals: pass:%d fail:%d xfail:%d xpass:%d skip:%d error:%d",
				&r.TPass, &r.TFail, &r.TXFail, &r.TXPass, &r.TSkip, &r.TError)
			r.TotalsSeen = err == nil && n == 6
		}
	}
	return r
}

// Check returns what is wrong with a run that exited with status: a test
// that failed, a result count that disagrees with the plan or the totals,
// no test passing, or a status other than pass or a whole-program skip.
func (r ksftResult) Check(status int) []string {
	var errs []string
	for _, f := range r.Failed {
		errs = append(errs, "not ok "+f)
	}
	n := r.Pass + r.Fail + r.Skip + r.XFail + r.XPass
	if r.Plan != n {
		errs = append(errs, fmt.Sprintf("plan 1..%d but %d results (the program died?)", r.Plan, n))
	}
	switch {
	case !r.TotalsSeen:
		errs = append(errs, "no \"# Totals:\" line")
	case r.TPass != r.Pass || r.TFail != r.Fail || r.TSkip != r.Skip || r.TXFail != r.XFail || r.TXPass != r.XPass || r.TError != 0:
		errs = append(errs, fmt.Sprintf("totals pass:%d fail:%d xfail:%d xpass:%d skip:%d error:%d disagree with the results (%d/%d/%d/%d/%d)",
			r.TPass, r.TFail, r.TXFail, r.TXPass, r.TSkip, r.TError, r.Pass, r.Fail, r.XFail, r.XPass, r.Skip))
	}
	if r.Pass == 0 {
		errs = append(errs, "no test passed")
	}
	switch {
	case status == ksftFail && r.Fail > 0:
		// The failed tests say it.
	case status != ksftPass && status != ksftSkip:
		errs = append(errs, fmt.Sprintf("exit status %d (kselftest: 0 pass, %d skip)", status, ksftSkip))
	case r.Fail > 0:
		errs = append(errs, fmt.Sprintf("exit status %d despite failures", status))
	}
	return errs
}
