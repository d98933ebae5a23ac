package lab

import (
	"fmt"
	"strings"
)

// KUnitSuite is the summary line a KUnit suite prints on the console when
// it has run at boot: "# NAME: pass:P fail:F skip:S total:T".
type KUnitSuite struct {
	Name                    string
	Pass, Fail, Skip, Total int
}

// FindKUnitSuite reads the summary of suite name from a serial log, whose
// lines may carry printk timestamps. ok is false when the suite did not
// report (not built in, or the boot died before it ran).
func FindKUnitSuite(log, name string) (s KUnitSuite, ok bool) {
	prefix := "# " + name + ": "
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimRight(line, "\r")
		if i := strings.Index(line, prefix); i >= 0 {
			var got KUnitSuite
			n, err := fmt.Sscanf(line[i+len(prefix):], "pass:%d fail:%d skip:%d total:%d",
				&got.Pass, &got.Fail, &got.Skip, &got.Total)
			if err == nil && n == 4 {
				got.Name = name
				s, ok = got, true
			}
		}
	}
	return s, ok
}

// Check says what is wrong with a suite's summary: nothing passed, a case
// failed, or the counts disagree.
func (s KUnitSuite) Check() error {
	switch {
	case s.Fail != 0:
		return fmt.Errorf("KUnit suite %s: %d of %d cases failed", s.Name, s.Fail, s.Total)
	case s.Pass == 0:
		return fmt.Errorf("KUnit suite %s: no case passed (%d skipped of %d)", s.Name, s.Skip, s.Total)
	case s.Pass+s.Fail+s.Skip != s.Total:
		return fmt.Errorf("KUnit suite %s: pass %d + fail %d + skip %d is not the total %d", s.Name, s.Pass, s.Fail, s.Skip, s.Total)
	}
	return nil
}
