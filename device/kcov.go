//go:build linux

package device

import (
	"os"
	"sync/atomic"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/rawdev"
)

// KcovPath is where debugfs shows classic kcov.
const KcovPath = "/sys/kernel/debug/kcov"

// Kcov is one open file of classic kcov with its buffer, collecting the
// PCs of the basic blocks the enabled thread runs (KCOV_TRACE_PC). It is
// here to compare kcov dataflow with the coverage fuzzers already use,
// and to collect both in one run.
type Kcov struct {
	path string
	f    *os.File
	m    rawdev.Mapping
}

// OpenKcov opens classic kcov at path (KcovPath when empty) with a buffer
// of words words (area[0] and words-1 PCs), mapped.
func OpenKcov(path string, words int) (*Kcov, error) {
	if path == "" {
		path = KcovPath
	}
	fd, err := rawdev.Open(path)
	if err != nil {
		return nil, opError("kcov open", path, 0, err)
	}
	k := &Kcov{path: path, f: os.NewFile(uintptr(fd), path)}
	size := RoundWords(words).Words
	if err := rawdev.Ioctl(fd, abi.KcovInitTrace, uintptr(size)); err != nil {
		k.f.Close()
		return nil, opError("KCOV_INIT_TRACE", path, size, err)
	}
	if k.m, err = rawdev.Mmap(fd, 0, size*8, true); err != nil {
		k.f.Close()
		return nil, opError("kcov mmap", path, size, err)
	}
	return k, nil
}

// Enable starts collecting PCs for the calling thread, which must stay
// locked to its goroutine until Disable.
func (k *Kcov) Enable() error {
	return opError("KCOV_ENABLE", k.path, 0, rawdev.Ioctl(int(k.f.Fd()), abi.KcovEnable, abi.KcovTracePC))
}

// Disable stops it; only the enabled thread may call it.
func (k *Kcov) Disable() error {
	return opError("KCOV_DISABLE", k.path, 0, rawdev.Ioctl(int(k.f.Fd()), abi.KcovDisable, 0))
}

// Count is the number of PCs collected (area[0], acquire load). It can
// exceed the buffer: kcov stops storing, not counting, when it is full.
func (k *Kcov) Count() uint64 { return atomic.LoadUint64(&k.m.Words[0]) }

// Cap is how many PCs the buffer holds.
func (k *Kcov) Cap() int { return len(k.m.Words) - 1 }

// Reset restarts the collection from area[1].
func (k *Kcov) Reset() { atomic.StoreUint64(&k.m.Words[0], 0) }

// PCs copies the collected PCs.
func (k *Kcov) PCs() []uint64 {
	n := min(k.Count(), uint64(k.Cap()))
	return append([]uint64(nil), k.m.Words[1:1+n]...)
}

// Close unmaps and closes.
func (k *Kcov) Close() error {
	k.m.Munmap()
	return k.f.Close()
}
