//go:build linux

package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"golang.org/x/sys/unix"
)

// syscalls are the operations MeasureSyscalls times.
var syscalls = []struct {
	name string
	run  func(buf []byte, fd int) error
}{
	{"getpid", func([]byte, int) error { unix.Getpid(); return nil }},
	{"open+close", func([]byte, int) error {
		fd, err := unix.Open("/proc/version", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		return unix.Close(fd)
	}},
	{"read 4KiB", func(buf []byte, fd int) error {
		_, err := unix.Pread(fd, buf, 0)
		return err
	}},
	// Structures all the way: struct file, path, inode and kstat.
	{"fstat", func(_ []byte, fd int) error {
		var st unix.Stat_t
		return unix.Fstat(fd, &st)
	}},
}

// ErrBufferFull: a traced round of MeasureSyscalls filled a buffer, so
// its time would flatter tracing; use fewer calls or more words.
var ErrBufferFull = errors.New("trace buffer full")

// Tracers are what MeasureSyscalls turns on for the measuring thread;
// nil fields are off.
type Tracers struct {
	Dataflow *Device // kcov dataflow
	Kcov     *Kcov   // classic kcov, KCOV_TRACE_PC
	// Follow is kcov dataflow in follow mode (KCOV_DF_ENABLE_FOLLOW,
	// chunks of abi.FollowDefaultChunk words), alone: a file of its own,
	// since a buffer keeps the layout of its first enable. Its buffer
	// cannot be reset (the kernel keeps the chunk counter), so each round
	// takes the chunks after the last round's, and the file is opened
	// anew when less than half of the buffer is left.
	Follow *Device
}

// Mode names the combination: "none", "kcov", "dataflow", "both" or
// "follow".
func (tr Tracers) Mode() string {
	switch {
	case tr.Follow != nil:
		return "follow"
	case tr.Dataflow != nil && tr.Kcov != nil:
		return "both"
	case tr.Dataflow != nil:
		return "dataflow"
	case tr.Kcov != nil:
		return "kcov"
	}
	return "none"
}

func (tr Tracers) enable() error {
	if tr.Follow != nil {
		return tr.Follow.EnableFollow(abi.FollowDefaultChunk)
	}
	if tr.Kcov != nil {
		if err := tr.Kcov.Enable(); err != nil {
			return err
		}
	}
	if tr.Dataflow != nil {
		if err := tr.Dataflow.Enable(); err != nil {
			tr.disable()
			return err
		}
	}
	return nil
}

func (tr Tracers) disable() {
	if tr.Follow != nil {
		tr.Follow.Disable()
	}
	if tr.Dataflow != nil {
		tr.Dataflow.Disable()
	}
	if tr.Kcov != nil {
		tr.Kcov.Disable()
	}
}

// reset readies the buffers for a round; it returns where the follow
// buffer's chunks of the round will start (its area[0]).
func (tr Tracers) reset() (uint64, error) {
	if tr.Dataflow != nil {
		tr.Dataflow.Reset()
	}
	if tr.Kcov != nil {
		tr.Kcov.Reset()
	}
	if d := tr.Follow; d != nil {
		if n := len(d.Words()); d.Count() > uint64(n/2) {
			if err := d.reopen(); err != nil {
				return 0, err
			}
		}
		return d.Count(), nil
	}
	return 0, nil
}

// reopen replaces the file and its buffer by new ones of the same size.
func (d *Device) reopen() error {
	n := len(d.Words())
	d.Close()
	nd, err := Open(d.path)
	if err != nil {
		return err
	}
	if _, err := nd.Setup(n); err != nil {
		nd.Close()
		return err
	}
	*d = *nd
	return nil
}

// followRound decodes the chunks a round took in a follow-mode buffer,
// from word start of the area on: its record words (chunk headers left
// out, as v1's count has none) and records. An area it cannot decode is
// an error: counting nothing would show the words as dearer than they are.
func followRound(d *Device, start uint64) (words, records int, err error) {
	c := abi.FollowDefaultChunk
	snap := abi.SnapshotFollow(d.Words(), c)
	end := min(snap[0], uint64(len(snap)-1))
	if end <= start {
		return 0, 0, nil // the round took no chunk
	}
	// The round's chunks as an area of their own.
	sub := make([]uint64, 1+end-start)
	sub[0] = end - start
	copy(sub[1:], snap[1+start:1+end])
	ft, err := abi.DecodeFollowChunks(sub, c, abi.Options{})
	if err != nil {
		return 0, 0, fmt.Errorf("latency: the round's chunks (words %d to %d): %w", start, end, err)
	}
	for _, t := range ft.Tasks {
		records += len(t.Records)
		for _, ch := range t.Chunks {
			words += int(ch.Used)
		}
	}
	return words, records, nil
}

// tally adds what the tracers collected in one round to row, and fails
// when a buffer filled: dropping is cheaper than writing, so the round
// would flatter tracing.
func (tr Tracers) tally(row *Latency, n int, start uint64) error {
	if d := tr.Follow; d != nil {
		if dropped, err := d.Dropped(); err == nil && dropped > 0 {
			return fmt.Errorf("latency: %s: the follow-mode buffer filled during a round of %d calls (%d records dropped): %w", row.Name, n, dropped, ErrBufferFull)
		}
		words, records, err := followRound(d, start)
		if err != nil {
			return fmt.Errorf("%s: %w", row.Name, err)
		}
		row.Words += float64(words)
		row.Records += float64(records)
	}
	if d := tr.Dataflow; d != nil {
		if dropped, err := d.Dropped(); err == nil && dropped > 0 {
			return fmt.Errorf("latency: %s: the dataflow buffer filled during a round of %d calls (%d records dropped): %w", row.Name, n, dropped, ErrBufferFull)
		}
		words := d.Snapshot()
		row.Words += float64(words[0])
		dec := abi.NewDecoder(words, abi.Options{Format: abi.FormatV1, BufferWords: len(d.Words())})
		for dec.Next() {
			row.Records++
		}
	}
	if k := tr.Kcov; k != nil {
		c := k.Count()
		if c > uint64(k.Cap()) {
			return fmt.Errorf("latency: %s: the kcov buffer filled during a round of %d calls (%d PCs for %d places): %w", row.Name, n, c, k.Cap(), ErrBufferFull)
		}
		row.PCs += float64(c)
	}
	return nil
}

// MeasureSyscalls times getpid, open+close, a 4 KiB read and fstat on one
// locked thread, each in rounds of n calls, once per entry of modes (the
// tracers collecting meanwhile), and returns one row per syscall and mode:
// the median time per call and what the tracers collected per call
// (averaged over the rounds). The modes take turns round by round, each
// round starting with the next, so that a noisy machine slows them alike
// and their ratios hold. Buffers are reset before each round.
func MeasureSyscalls(modes []Tracers, n, rounds int) ([]Latency, error) {
	if n < 1 || rounds < 1 {
		return nil, fmt.Errorf("latency: %d calls in %d rounds: want at least one of each", n, rounds)
	}
	if len(modes) == 0 {
		return nil, errors.New("latency: no mode to measure")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// A 4 KiB file on tmpfs: reads hit the page cache, not a device.
	path := filepath.Join(os.TempDir(), fmt.Sprintf("kcovdf-latency-%d", unix.Getpid()))
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("latency: create %s: %w", path, err)
	}
	defer unix.Unlink(path)
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	if _, err := unix.Write(fd, buf); err != nil {
		return nil, err
	}
	var out []Latency
	for _, s := range syscalls {
		rows := make([]Latency, len(modes))
		times := make([][]time.Duration, len(modes))
		for i, tr := range modes {
			rows[i] = Latency{Name: s.name, Mode: tr.Mode(), Traced: tr.Dataflow != nil || tr.Follow != nil}
		}
		for r := range rounds {
			// Each round starts with the next mode: the one after a
			// heavy mode finds the caches (and TCG's code cache) cold.
			for j := range modes {
				i := (r + j) % len(modes)
				d, err := timeRound(modes[i], &rows[i], n, func() error { return s.run(buf, fd) })
				if err != nil {
					return nil, err
				}
				times[i] = append(times[i], d)
			}
		}
		calls := float64(n * rounds)
		for i := range rows {
			slices.Sort(times[i])
			rows[i].NS = times[i][len(times[i])/2].Nanoseconds()
			rows[i].Words, rows[i].Records, rows[i].PCs = rows[i].Words/calls, rows[i].Records/calls, rows[i].PCs/calls
		}
		out = append(out, rows...)
	}
	return out, nil
}

// timeRound runs call n times with tr collecting and returns the time per
// call; what tr collected is added to row.
func timeRound(tr Tracers, row *Latency, n int, call func() error) (time.Duration, error) {
	from, err := tr.reset()
	if err != nil {
		return 0, err
	}
	if err := tr.enable(); err != nil {
		return 0, err
	}
	start := time.Now()
	for range n {
		if err := call(); err != nil {
			tr.disable()
			return 0, fmt.Errorf("latency: %s: %w", row.Name, err)
		}
	}
	d := time.Since(start) / time.Duration(n)
	tr.disable()
	return d, tr.tally(row, n, from)
}
