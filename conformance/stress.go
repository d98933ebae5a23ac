package conformance

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kcovdf/kcovdf/abi"
)

// StressResult is what one thread of a stress run recorded.
type StressResult struct {
	Records int
	Words   uint64 // area[0]
	Dropped uint64
	Calls   int // Work units done
	Err     error
}

// Stress runs threads tasks, each with its own buffer of words words,
// doing work for d, and checks that none loses a record silently: every
// buffer holds whole records with gap-free sequence numbers from 1, and
// the drop counter is non-zero exactly when the buffer ran out of room.
func Stress(tg Target, threads int, d time.Duration, words int, opt Options) ([]StressResult, error) {
	e := &env{tg: tg, opt: opt}
	defer func() {
		for i := len(e.cleanup) - 1; i >= 0; i-- {
			e.cleanup[i]()
		}
	}()
	res := make([]StressResult, threads)
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for i := range threads {
		t := e.task()
		f, area, err := e.traced(t, words)
		if err != nil {
			return nil, fmt.Errorf("thread %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[i]
			for time.Now().Before(deadline) {
				if err := t.Work(1); err != nil {
					r.Err = err
					break
				}
				r.Calls++
			}
			r.Dropped, _ = f.Ioctl(t, abi.IoctlGetDropped, 0)
			f.Ioctl(t, abi.IoctlDisable, 0)
			n, _, err := e.records(area, 1)
			r.Records, r.Words = n, area[0]
			if err != nil && r.Err == nil {
				r.Err = err
			}
			// A record is at most a few hundred words; with fewer free than
			// the longest record, dropping is expected, with many free it is
			// a lost record.
			free := uint64(len(area)-1) - area[0]
			switch {
			case r.Err != nil:
			case r.Dropped > 0 && free > 1024:
				r.Err = fmt.Errorf("%d records dropped with %d words free", r.Dropped, free)
			case r.Records == 0:
				r.Err = errors.New("no records")
			}
			f.Close(t)
		}()
	}
	wg.Wait()
	var errs []error
	for i, r := range res {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("thread %d: %v", i, r.Err))
		}
	}
	return res, errors.Join(errs...)
}
