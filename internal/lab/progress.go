package lab

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Progress reports the steps of long work as lines with elapsed times. On a
// terminal the running step's line is refreshed in place with a status (for
// the kernel build: the file being compiled); elsewhere (CI logs) a heartbeat
// line is printed every 30 seconds so that a silent step still shows life.
type Progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	start    time.Time
}

// NewProgress returns a Progress writing to w; w may be nil to discard.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// Step is one running step.
type Step struct {
	p       *Progress
	name    string
	start   time.Time
	mu      sync.Mutex
	status  string
	done    chan struct{}
	stopped sync.WaitGroup
}

// Printf writes one free-form line.
func (p *Progress) Printf(format string, args ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// Begin starts a step called name.
func (p *Progress) Begin(name string) *Step {
	s := &Step{p: p, name: name, start: time.Now(), done: make(chan struct{})}
	if p == nil || p.w == nil {
		return s
	}
	if !p.terminal {
		p.Printf("lab: %s ...", name)
	}
	s.stopped.Add(1)
	go s.tick()
	return s
}

// Status sets the short status shown with the running step.
func (s *Step) Status(status string) {
	s.mu.Lock()
	s.status = status
	s.mu.Unlock()
}

func (s *Step) tick() {
	defer s.stopped.Done()
	interval := 30 * time.Second
	if s.p.terminal {
		interval = 250 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.mu.Lock()
			status := s.status
			s.mu.Unlock()
			elapsed := time.Since(s.start).Round(time.Second)
			s.p.mu.Lock()
			if s.p.terminal {
				line := fmt.Sprintf("lab: %s  %s  %s", s.name, elapsed, status)
				if len(line) > 100 {
					line = line[:100]
				}
				fmt.Fprintf(s.p.w, "\r\x1b[K%s", line)
			} else {
				fmt.Fprintf(s.p.w, "lab: %s ... %s %s\n", s.name, elapsed, status)
			}
			s.p.mu.Unlock()
		}
	}
}

// End finishes the step; note (may be empty) is appended to its line.
func (s *Step) End(note string) time.Duration {
	d := time.Since(s.start)
	if s.p == nil || s.p.w == nil {
		return d
	}
	close(s.done)
	s.stopped.Wait()
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.terminal {
		fmt.Fprint(s.p.w, "\r\x1b[K")
	}
	if note != "" {
		note = " (" + note + ")"
	}
	fmt.Fprintf(s.p.w, "lab: %-22s %7.1fs%s\n", s.name, d.Seconds(), note)
	return d
}
