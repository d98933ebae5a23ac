package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// StepError is the failure of one step of the lab: the step's name, the
// command's exit status and the log file that holds its full output.
type StepError struct {
	Op       string // "lab build", "lab run", ...
	Step     string
	ExitCode int // -1 when the command did not run or was killed
	Log      string
	Tail     []string // the last interesting lines of the log
	Err      error
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: step %q failed", e.Op, e.Step)
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, " (exit %d)", e.ExitCode)
	} else if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	if e.Log != "" {
		fmt.Fprintf(&b, "; see %s", e.Log)
	}
	if len(e.Tail) > 0 {
		b.WriteString(" (last lines:\n    ")
		b.WriteString(strings.Join(e.Tail, "\n    "))
		b.WriteString(")")
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// command runs one external program, appending its combined output to the
// log file. lineFn, when set, sees every output line (for progress).
type command struct {
	op     string
	step   string
	log    string
	dir    string
	env    []string
	lineFn func(string)
	// cpu, when set, gets the command's CPU time (user + system, its
	// waited-for children included) added: unlike wall time it does not
	// grow when other work shares the cores.
	cpu *time.Duration
}

func (c command) run(ctx context.Context, name string, args ...string) error {
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return &StepError{Op: c.op, Step: c.step, ExitCode: -1, Err: err}
	}
	defer f.Close()
	fmt.Fprintf(f, "+ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var out io.Writer = f
	var pw *io.PipeWriter
	done := make(chan struct{})
	if c.lineFn != nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		out = io.MultiWriter(f, pw)
		go func() {
			defer close(done)
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				c.lineFn(sc.Text())
			}
			io.Copy(io.Discard, pr)
		}()
	} else {
		close(done)
	}
	cmd.Stdout = out
	cmd.Stderr = out
	err = cmd.Run()
	if c.cpu != nil && cmd.ProcessState != nil {
		*c.cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if pw != nil {
		pw.Close()
	}
	<-done
	if err == nil {
		return nil
	}
	se := &StepError{Op: c.op, Step: c.step, ExitCode: -1, Log: c.log, Err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		se.ExitCode = ee.ExitCode()
	}
	if ctx.Err() != nil {
		se.Err = ctx.Err()
	}
	f.Sync()
	se.Tail = logTail(c.log, 12)
	return se
}

// logTail returns the last n lines of a log that matter: lines that look
// like errors when there are any, else simply the last lines.
func logTail(path string, n int) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	if len(data) > 1<<20 {
		data = data[len(data)-1<<20:]
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var errs []string
	for _, l := range lines {
		ll := strings.ToLower(l)
		if strings.Contains(ll, "error") || strings.Contains(ll, "fatal") ||
			strings.Contains(ll, "undefined reference") || strings.Contains(ll, "failed") ||
			strings.HasPrefix(ll, "hunk") {
			errs = append(errs, l)
		}
	}
	pick := lines
	if len(errs) > 0 {
		pick = errs
	}
	if len(pick) > n {
		pick = pick[len(pick)-n:]
	}
	out := make([]string, 0, len(pick))
	for _, l := range pick {
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		out = append(out, l)
	}
	return out
}

// output runs a command and returns its trimmed standard output.
func output(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, msg)
		}
		return "", fmt.Errorf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(stdout.String()), nil
}
