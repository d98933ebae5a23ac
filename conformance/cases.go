package conformance

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/kcovdf/kcovdf/abi"
)

// pageWords is the smallest mappable buffer (4 KiB pages).
const pageWords = 512

// Case is one conformance check.
type Case struct {
	Name string
	// Spec names the rule it checks: the page of docs/ and its section.
	Spec string
	Run  func(*env) error
}

// Result is the outcome of one case.
type Result struct {
	Case    Case
	Err     error
	Skipped string
}

// Options tune a run.
type Options struct {
	// Table gives exact record lengths (from the build's layout); without
	// it records are checked by re-synchronisation.
	Table *abi.Table
}

// env is what a case runs with.
type env struct {
	tg  Target
	opt Options
	// cleanup runs after the case: tasks exit, files close.
	cleanup []func()
}

var errSkip = errors.New("skip")

type skipError struct{ why string }

func (s skipError) Error() string { return "skipped: " + s.why }
func (s skipError) Is(err error) bool {
	return err == errSkip
}

// Run runs every case against tg, each with fresh files and tasks. It
// fails at once when the device cannot even be opened.
func Run(tg Target, opt Options) ([]Result, error) {
	f, err := tg.Open()
	if err != nil {
		return nil, fmt.Errorf("conformance: open %s: %w", tg.Name(), err)
	}
	if t, err := tg.NewTask(); err == nil {
		f.Close(t)
		t.Exit()
	}
	var out []Result
	for _, c := range Cases() {
		e := &env{tg: tg, opt: opt}
		err := runCase(c, e)
		for i := len(e.cleanup) - 1; i >= 0; i-- {
			e.cleanup[i]()
		}
		r := Result{Case: c, Err: err}
		var s skipError
		if errors.As(err, &s) {
			r.Err, r.Skipped = nil, s.why
		}
		out = append(out, r)
	}
	return out, nil
}

// runCase runs one case; a setup failure inside it fails the case only.
func runCase(c Case, e *env) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return c.Run(e)
}

func (e *env) task() Task {
	t, err := e.tg.NewTask()
	if err != nil {
		panic(fmt.Sprintf("conformance: new task: %v", err))
	}
	e.cleanup = append(e.cleanup, t.Exit)
	return t
}

func (e *env) open() File {
	f, err := e.tg.Open()
	if err != nil {
		panic(fmt.Sprintf("conformance: open: %v", err))
	}
	return f
}

// traced opens a file, gives it a buffer of n words, maps it and enables
// it on t.
func (e *env) traced(t Task, n int) (File, []uint64, error) {
	f := e.open()
	if _, err := f.Ioctl(t, abi.IoctlInitTrace, uint64(n)); err != nil {
		return nil, nil, fmt.Errorf("INIT_TRACE(%d): %v", n, err)
	}
	area, err := f.Mmap(0, uint64(n)*8, true)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap: %v", err)
	}
	if _, err := f.Ioctl(t, abi.IoctlEnable, 0); err != nil {
		return nil, nil, fmt.Errorf("ENABLE: %v", err)
	}
	return f, area, nil
}

// want checks that err is the errno wanted (nil for success).
func want(what string, err error, errno syscall.Errno) error {
	switch {
	case errno == 0 && err != nil:
		return fmt.Errorf("%s: %v, want success", what, err)
	case errno != 0 && !errors.Is(err, errno):
		return fmt.Errorf("%s: %v, want %v (%s)", what, errOrOK(err), errno, errnoName(errno))
	}
	return nil
}

func errOrOK(err error) any {
	if err == nil {
		return "success"
	}
	return err
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.EBUSY:
		return "EBUSY"
	case syscall.ENOTTY:
		return "ENOTTY"
	case syscall.EACCES:
		return "EACCES"
	}
	return fmt.Sprint(int(e))
}

// steps runs checks in order and returns the first failure.
func steps(errs ...func() error) error {
	for _, f := range errs {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// records checks a buffer the way a user relies on it: area[0] within the
// buffer, whole records only, sequence numbers rising by one from first
// (0: any), pcs in kernel text. It returns the number of records and the
// last sequence number.
func (e *env) records(area []uint64, first uint32) (int, uint32, error) {
	n := atomic.LoadUint64(&area[0])
	if n > uint64(len(area)-1) {
		return 0, 0, fmt.Errorf("area[0] = %d exceeds the buffer's %d words", n, len(area)-1)
	}
	words := make([]uint64, n+1)
	copy(words, area)
	words[0] = n
	d := abi.NewDecoder(words, abi.Options{Format: abi.FormatV1, Table: e.opt.Table, BufferWords: len(area)})
	count, last := 0, uint32(0)
	for d.Next() {
		r := d.Record()
		if count == 0 && first != 0 && r.Seq != first {
			return 0, 0, fmt.Errorf("first record has sequence %d, want %d", r.Seq, first)
		}
		if r.PC < 0xffffffff80000000 {
			return 0, 0, fmt.Errorf("record %d: pc %#x outside kernel text", r.Seq, r.PC)
		}
		count++
		last = r.Seq
	}
	s := d.Summary()
	for _, k := range []abi.AnomalyKind{abi.AnomalySeqGap, abi.AnomalyTornRecord, abi.AnomalyTornTail, abi.AnomalyUnattributed, abi.AnomalyLayoutMismatch} {
		if s.AnomalyCounts[k] > 0 {
			return 0, 0, fmt.Errorf("%d %s anomalies: %v", s.AnomalyCounts[k], k, s.Anomalies[0])
		}
	}
	return count, last, nil
}

// Cases is the conformance table.
func Cases() []Case {
	E := syscall.Errno(0)
	cases := []Case{
		{"INIT_TRACE size bounds", "device.md: Errors, INIT_TRACE", func(e *env) error {
			t, f := e.task(), e.open()
			defer f.Close(t)
			return steps(
				func() error {
					_, err := f.Ioctl(t, abi.IoctlInitTrace, 1)
					return want("INIT_TRACE(1)", err, syscall.EINVAL)
				},
				func() error {
					_, err := f.Ioctl(t, abi.IoctlInitTrace, abi.MaxWords+1)
					return want("INIT_TRACE(max+1)", err, syscall.EINVAL)
				},
				func() error { _, err := f.Ioctl(t, abi.IoctlInitTrace, 2); return want("INIT_TRACE(2)", err, E) },
				func() error {
					_, err := f.Ioctl(t, abi.IoctlInitTrace, pageWords)
					return want("second INIT_TRACE", err, syscall.EBUSY)
				},
			)
		}},
		{"INIT_TRACE of the maximum maps", "device.md: INIT_TRACE, Mapping", func(e *env) error {
			t, f := e.task(), e.open()
			defer f.Close(t)
			if _, err := f.Ioctl(t, abi.IoctlInitTrace, abi.MaxWords); err != nil {
				return want("INIT_TRACE(16777216)", err, E)
			}
			_, err := f.Mmap(0, abi.MaxWords*8, true)
			return want("mmap of 128 MiB", err, E)
		}},
		{"mmap: offset 0, the buffer's length, shared", "device.md: Mapping", func(e *env) error {
			t, f := e.task(), e.open()
			defer f.Close(t)
			return steps(
				func() error {
					_, err := f.Mmap(0, pageWords*8, true)
					return want("mmap without buffer", err, syscall.EINVAL)
				},
				func() error { _, err := f.Ioctl(t, abi.IoctlInitTrace, pageWords); return want("INIT_TRACE", err, E) },
				func() error {
					_, err := f.Mmap(4096, pageWords*8, true)
					return want("mmap at offset 4096", err, syscall.EINVAL)
				},
				func() error {
					_, err := f.Mmap(0, 2*pageWords*8, true)
					return want("mmap of twice the length", err, syscall.EINVAL)
				},
				func() error { _, err := f.Mmap(0, pageWords*8, false); return want("MAP_PRIVATE", err, syscall.EINVAL) },
				func() error { _, err := f.Mmap(0, pageWords*8, true); return want("mmap", err, E) },
			)
		}},
		{"mmap needs a whole number of pages", "device.md: Mapping", func(e *env) error {
			t, f := e.task(), e.open()
			defer f.Close(t)
			if _, err := f.Ioctl(t, abi.IoctlInitTrace, 100); err != nil {
				return want("INIT_TRACE(100)", err, E)
			}
			_, err := f.Mmap(0, 800, true)
			return want("mmap of 100 words", err, syscall.EINVAL)
		}},
		{"ENABLE and DISABLE", "device.md: ENABLE, DISABLE", func(e *env) error {
			t, u, f := e.task(), e.task(), e.open()
			defer f.Close(t)
			return steps(
				func() error {
					_, err := f.Ioctl(t, abi.IoctlEnable, 0)
					return want("ENABLE without buffer", err, syscall.EINVAL)
				},
				func() error { _, err := f.Ioctl(t, abi.IoctlInitTrace, pageWords); return want("INIT_TRACE", err, E) },
				func() error {
					_, err := f.Ioctl(t, abi.IoctlDisable, 0)
					return want("DISABLE before ENABLE", err, syscall.EINVAL)
				},
				func() error { _, err := f.Ioctl(t, abi.IoctlEnable, 0); return want("ENABLE", err, E) },
				func() error {
					_, err := f.Ioctl(t, abi.IoctlEnable, 0)
					return want("ENABLE again", err, syscall.EINVAL)
				},
				func() error {
					_, err := f.Ioctl(u, abi.IoctlEnable, 0)
					return want("ENABLE by another task", err, syscall.EINVAL)
				},
				func() error {
					_, err := f.Ioctl(u, abi.IoctlDisable, 0)
					return want("DISABLE by another task", err, syscall.EINVAL)
				},
				func() error { _, err := f.Ioctl(t, abi.IoctlDisable, 0); return want("DISABLE", err, E) },
				func() error {
					_, err := f.Ioctl(t, abi.IoctlDisable, 0)
					return want("DISABLE again", err, syscall.EINVAL)
				},
				func() error {
					_, err := f.Ioctl(u, abi.IoctlEnable, 0)
					return want("ENABLE by the other task now", err, E)
				},
				func() error { _, err := f.Ioctl(u, abi.IoctlDisable, 0); return want("its DISABLE", err, E) },
			)
		}},
		{"unknown ioctls", "device.md: Errors", func(e *env) error {
			t, f := e.task(), e.open()
			defer f.Close(t)
			return steps(
				func() error { _, err := f.Ioctl(t, 0x6499, 0); return want("ioctl 0x6499", err, syscall.ENOTTY) },
				func() error {
					_, err := f.Ioctl(t, 0xc0086301, 0)
					return want("classic kcov's INIT", err, syscall.ENOTTY)
				},
				func() error {
					_, err := f.Ioctl(t, abi.IoctlRemoteDisable, 0)
					return want("v3's REMOTE_DISABLE", err, syscall.ENOTTY)
				},
			)
		}},
		{"ENABLE on a second file from a traced task", "device.md: EBUSY on a second file", func(e *env) error {
			t := e.task()
			f, _, err := e.traced(t, pageWords)
			if err != nil {
				return err
			}
			defer f.Close(t)
			g := e.open()
			defer g.Close(t)
			return steps(
				func() error { _, err := g.Ioctl(t, abi.IoctlInitTrace, pageWords); return want("INIT_TRACE", err, E) },
				func() error {
					_, err := g.Ioctl(t, abi.IoctlEnable, 0)
					return want("ENABLE on the second file", err, syscall.EBUSY)
				},
				func() error { _, err := f.Ioctl(t, abi.IoctlDisable, 0); return want("DISABLE the first", err, E) },
				func() error {
					_, err := g.Ioctl(t, abi.IoctlEnable, 0)
					return want("ENABLE on the second file now", err, E)
				},
				func() error { _, err := g.Ioctl(t, abi.IoctlDisable, 0); return want("DISABLE it", err, E) },
			)
		}},
		{"records: sequence 1, 2, 3, … and pcs in kernel text", "records.md: Sequence numbers", func(e *env) error {
			t := e.task()
			f, area, err := e.traced(t, 1<<16)
			if err != nil {
				return err
			}
			defer f.Close(t)
			if err := t.Work(5); err != nil {
				return err
			}
			f.Ioctl(t, abi.IoctlDisable, 0)
			n, _, err := e.records(area, 1)
			if err == nil && n == 0 {
				err = errors.New("no records: is the kernel instrumented?")
			}
			return err
		}},
		{"two files, two tasks, each its own records", "device.md: The file", func(e *env) error {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range 2 {
				t := e.task()
				f, area, err := e.traced(t, 1<<16)
				if err != nil {
					return err
				}
				defer f.Close(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := t.Work(50); err != nil {
						errs[i] = err
						return
					}
					f.Ioctl(t, abi.IoctlDisable, 0)
					n, _, err := e.records(area, 1)
					if err == nil && n == 0 {
						err = errors.New("no records")
					}
					if err != nil {
						errs[i] = fmt.Errorf("task %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			return errors.Join(errs...)
		}},
		{"overflow drops whole records and counts them", "records.md: Write rules, drop counter", func(e *env) error {
			t := e.task()
			f, area, err := e.traced(t, pageWords)
			if err != nil {
				return err
			}
			defer f.Close(t)
			if err := t.Work(200); err != nil {
				return err
			}
			dropped, err := f.Ioctl(t, abi.IoctlGetDropped, 0)
			if err != nil {
				return fmt.Errorf("GET_DROPPED: %v", err)
			}
			f.Ioctl(t, abi.IoctlDisable, 0)
			if _, _, err := e.records(area, 1); err != nil {
				return err
			}
			if dropped == 0 {
				return fmt.Errorf("a full buffer of %d words dropped nothing (area[0] = %d)", pageWords, area[0])
			}
			return nil
		}},
		{"reset by storing 0 into area[0]", "device.md: Reading the buffer", func(e *env) error {
			t := e.task()
			f, area, err := e.traced(t, 1<<16)
			if err != nil {
				return err
			}
			defer f.Close(t)
			t.Work(2)
			_, last, err := e.records(area, 1)
			if err != nil {
				return err
			}
			atomic.StoreUint64(&area[0], 0)
			t.Work(2)
			f.Ioctl(t, abi.IoctlDisable, 0)
			// The records restart at area[1] and their numbers go on: a Go
			// thread may have made more syscalls (futex, for one) since the
			// first look, so the new first number is past the old last.
			if area[1]&abi.SeqMask <= uint64(last) {
				return fmt.Errorf("after the reset area[1] has sequence %d, want more than %d", area[1]&abi.SeqMask, last)
			}
			_, _, err = e.records(area, 0)
			return err
		}},
		{"re-enable restarts the sequence at 1 and the drop counter at 0", "device.md: ENABLE", func(e *env) error {
			t := e.task()
			// Room for the syscalls between ENABLE and GET_DROPPED (a Go
			// thread makes some of its own), yet small enough to overflow.
			f, area, err := e.traced(t, 1<<14)
			if err != nil {
				return err
			}
			defer f.Close(t)
			t.Work(2000)
			if d, _ := f.Ioctl(t, abi.IoctlGetDropped, 0); d == 0 {
				return fmt.Errorf("no record dropped by a buffer of %d words", len(area))
			}
			f.Ioctl(t, abi.IoctlDisable, 0)
			atomic.StoreUint64(&area[0], 0)
			if _, err := f.Ioctl(t, abi.IoctlEnable, 0); err != nil {
				return want("ENABLE again", err, E)
			}
			if d, _ := f.Ioctl(t, abi.IoctlGetDropped, 0); d != 0 {
				return fmt.Errorf("drop counter %d after ENABLE, want 0", d)
			}
			t.Work(1)
			f.Ioctl(t, abi.IoctlDisable, 0)
			_, _, err = e.records(area, 1)
			return err
		}},
		{"a forked child is not traced", "device.md: Task life cycle, fork", func(e *env) error {
			t := e.task()
			f, area, err := e.traced(t, 1<<18)
			if err != nil {
				return err
			}
			defer f.Close(t)
			if err := t.ForkWork(); err != nil {
				return err
			}
			t.Work(1)
			f.Ioctl(t, abi.IoctlDisable, 0)
			_, _, err = e.records(area, 1)
			return err
		}},
		{"a traced task that exits unbinds the file", "device.md: Task life cycle, exit", func(e *env) error {
			t, err := e.tg.NewTask()
			if err != nil {
				return err
			}
			f, area, err := e.traced(t, 1<<16)
			if err != nil {
				return err
			}
			u := e.task()
			defer f.Close(u)
			t.Work(1)
			t.Exit()
			atomic.StoreUint64(&area[0], 0)
			return steps(
				func() error {
					_, err := f.Ioctl(u, abi.IoctlEnable, 0)
					return want("ENABLE by another task after the exit", err, E)
				},
				func() error { _, err := f.Ioctl(u, abi.IoctlDisable, 0); return want("its DISABLE", err, E) },
			)
		}},
		{"close from another task while the traced task runs", "device.md: Task life cycle, close", func(e *env) error {
			t, u := e.task(), e.task()
			f := e.open()
			if _, err := f.Ioctl(t, abi.IoctlInitTrace, pageWords); err != nil {
				return want("INIT_TRACE", err, E)
			}
			if _, err := f.Ioctl(t, abi.IoctlEnable, 0); err != nil {
				return want("ENABLE", err, E)
			}
			// Not mapped: u's close drops the last file reference.
			done := make(chan error)
			go func() { done <- t.Work(300) }()
			if err := f.Close(u); err != nil {
				return fmt.Errorf("close by another task: %v", err)
			}
			if err := <-done; err != nil {
				return err
			}
			// The task stopped recording into the closed file's buffer and
			// may trace through a new file at once.
			g := e.open()
			defer g.Close(t)
			g.Ioctl(t, abi.IoctlInitTrace, pageWords)
			return steps(
				func() error { _, err := g.Ioctl(t, abi.IoctlEnable, 0); return want("ENABLE on a new file", err, E) },
				func() error { _, err := g.Ioctl(t, abi.IoctlDisable, 0); return want("its DISABLE", err, E) },
			)
		}},
		{"a file opened read-only maps PROT_READ, MAP_SHARED and traces", "device.md: Mapping, read-only", func(e *env) error {
			t := e.task()
			f, err := e.tg.OpenReadOnly()
			if err != nil {
				return fmt.Errorf("open O_RDONLY: %v", err)
			}
			defer f.Close(t)
			var area []uint64
			err = steps(
				func() error { _, err := f.Ioctl(t, abi.IoctlInitTrace, 1<<16); return want("INIT_TRACE", err, E) },
				func() error {
					_, err := f.Mmap(0, 1<<16*8, true)
					return want("writable MAP_SHARED of a read-only file", err, syscall.EACCES)
				},
				func() error {
					var err error
					area, err = f.MmapRead(0, 1<<16*8)
					return want("PROT_READ, MAP_SHARED", err, E)
				},
				func() error { _, err := f.Ioctl(t, abi.IoctlEnable, 0); return want("ENABLE", err, E) },
				func() error { return t.Work(5) },
				func() error { _, err := f.Ioctl(t, abi.IoctlDisable, 0); return want("DISABLE", err, E) },
			)
			if err != nil {
				return err
			}
			n, _, err := e.records(area, 1)
			if err == nil && n == 0 {
				err = errors.New("no records through the read-only mapping")
			}
			return err
		}},
		{"close from another task: the traced task unbinds on its way back to user space", "device.md: Task life cycle, close", func(e *env) error {
			t, u := e.task(), e.task()
			// Rounds alternate: mapped (released when u's close and unmap
			// drop the last references) or not, and the new ENABLE right
			// after the close or after more syscalls of t.
			for round := range 20 {
				if err := closeByOtherRound(e, t, u, round%2 == 0, round%3 != 0); err != nil {
					return fmt.Errorf("round %d: %v", round, err)
				}
			}
			return nil
		}},
		{"classic kcov keeps working in the same task", "device.md: The file, classic kcov", func(e *env) error {
			if !e.tg.ClassicKcov() {
				return skipError{"no /sys/kernel/debug/kcov"}
			}
			t := e.task()
			if alone, err := t.ClassicKcov(); err != nil {
				return fmt.Errorf("classic kcov alone: %v", err)
			} else if alone == 0 {
				return skipError{"classic kcov collects nothing on this kernel even alone (no object built with KCOV's trace-pc, e.g. KCOV_INSTRUMENT_ALL off)"}
			}
			f, area, err := e.traced(t, 1<<18)
			if err != nil {
				return err
			}
			defer f.Close(t)
			pcs, err := t.ClassicKcov()
			if err != nil {
				return fmt.Errorf("classic kcov: %v", err)
			}
			if pcs == 0 {
				return errors.New("classic kcov collected no pc while kcov dataflow traced the task")
			}
			f.Ioctl(t, abi.IoctlDisable, 0)
			n, _, err := e.records(area, 1)
			if err == nil && n == 0 {
				err = errors.New("kcov dataflow recorded nothing while classic kcov ran")
			}
			return err
		}},
	}
	return append(cases, followCases()...)
}

// closeByOtherRound: t is traced through a file that u closes while t
// runs; then t, unbound by the close, traces through a new file from
// sequence 1.
func closeByOtherRound(e *env, t, u Task, mapped, workFirst bool) error {
	E := syscall.Errno(0)
	f := e.open()
	if _, err := f.Ioctl(t, abi.IoctlInitTrace, 1<<13); err != nil {
		return want("INIT_TRACE", err, E)
	}
	if mapped {
		if _, err := f.Mmap(0, 1<<13*8, true); err != nil {
			return want("mmap", err, E)
		}
	}
	if _, err := f.Ioctl(t, abi.IoctlEnable, 0); err != nil {
		return want("ENABLE", err, E)
	}
	done := make(chan error)
	go func() { done <- t.Work(100) }()
	if err := f.Close(u); err != nil {
		return fmt.Errorf("close by another task: %v", err)
	}
	if err := <-done; err != nil {
		return err
	}
	if workFirst {
		if err := t.Work(3); err != nil {
			return err
		}
	}
	g := e.open()
	defer g.Close(t)
	var area []uint64
	err := steps(
		func() error { _, err := g.Ioctl(t, abi.IoctlInitTrace, 1<<13); return want("INIT_TRACE", err, E) },
		func() error {
			var err error
			area, err = g.Mmap(0, 1<<13*8, true)
			return want("mmap", err, E)
		},
		func() error { _, err := g.Ioctl(t, abi.IoctlEnable, 0); return want("ENABLE on a new file", err, E) },
		func() error { return t.Work(3) },
		func() error { _, err := g.Ioctl(t, abi.IoctlDisable, 0); return want("its DISABLE", err, E) },
	)
	if err != nil {
		return err
	}
	n, _, err := e.records(area, 1)
	if err == nil && n == 0 {
		err = errors.New("no records on the new file")
	}
	return err
}
