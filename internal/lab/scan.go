package lab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Finding is a kernel report found on the serial console: a bug, a
// sanitizer report, a warning, a lockdep splat or a panic.
type Finding struct {
	Line   int      // 1-based line of the title in the log
	Title  string   // the report's first line, without the timestamp
	Report []string // the title and the lines that follow it, up to the report's end
}

func (f Finding) String() string { return fmt.Sprintf("line %d: %s", f.Line, f.Title) }

// findingPatterns start a report. They are matched against a console line
// with its "[  12.345678]" timestamp removed.
var findingPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\bBUG: `),         // BUG: KASAN, BUG: kernel NULL pointer dereference, BUG: soft lockup, ...
	regexp.MustCompile(`^kernel BUG at `), // BUG_ON()
	regexp.MustCompile(`^WARNING: `),      // WARN(), lockdep "WARNING: possible circular locking ..."
	regexp.MustCompile(`\bKASAN: `),       // KASAN reports that do not start with BUG:
	regexp.MustCompile(`possible (circular|recursive) locking`),
	regexp.MustCompile(`^INFO: (task .* blocked for more than|trying to register non-static key|rcu_)`),
	regexp.MustCompile(`^rcu: INFO: `), // RCU stalls
	regexp.MustCompile(`^UBSAN: `),
	regexp.MustCompile(`^Oops: `),
	regexp.MustCompile(`^general protection fault`),
	regexp.MustCompile(`^Kernel panic`),
	regexp.MustCompile(`^Unable to handle kernel`),
	// A failed KUnit test or suite (KTAP, indented per level). The guest's
	// commands write to files, never to the console, so only the kernel's
	// own tests print these.
	regexp.MustCompile(`^\s*not ok \d+ `),
}

// continuation matches titles that continue the report just begun.
var continuation = regexp.MustCompile(`^(Oops: |general protection fault)`)

// reportEnd ends a report's body.
var reportEnd = regexp.MustCompile(`^(---\[ end |={20,}$)`)

var timestamp = regexp.MustCompile(`^\[\s*\d+\.\d+\]\s?`)

// maxReport bounds the lines kept per finding.
const maxReport = 80

// ScanLog returns the kernel reports in a serial console log. The lines
// after a title (stack, registers) up to the report's end marker are its
// body; a further title starts a new finding.
func ScanLog(r io.Reader) ([]Finding, error) {
	var out []Finding
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	n := 0
	in := -1 // index in out of the report being read, -1 outside one
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		text := timestamp.ReplaceAllString(line, "")
		if strings.HasPrefix(text, "kcovdf-init: ") {
			continue
		}
		starts := false
		for _, p := range findingPatterns {
			if p.MatchString(text) {
				starts = true
				break
			}
		}
		if in >= 0 {
			f := &out[in]
			// An oops line right after "BUG: unable to handle ..." is the
			// same report; any other title starts a new one.
			cont := continuation.MatchString(text) && n-f.Line <= 5
			if !starts || cont {
				if len(f.Report) < maxReport {
					f.Report = append(f.Report, text)
				}
				if reportEnd.MatchString(text) || len(f.Report) >= maxReport {
					in = -1
				}
				continue
			}
		}
		if starts {
			out = append(out, Finding{Line: n, Title: strings.TrimSpace(text), Report: []string{text}})
			in = len(out) - 1
		}
	}
	return out, sc.Err()
}

// ScanLogFile is ScanLog of a file.
func ScanLogFile(path string) ([]Finding, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ScanLog(f)
}
