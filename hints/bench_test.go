package hints

import (
	"runtime"
	"testing"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/model"
	"golang.org/x/sys/unix"
)

// BenchmarkHints observes a full 16 M-word simulated trace (2.9 M
// records, the default mix), decoding included, and intersects it with
// itself: what "kcovdf hints" does per trace, without loading the file.
func BenchmarkHints(b *testing.B) {
	cfg := model.DefaultSimConfig()
	cfg.Words = abi.MaxWords
	res, err := model.Simulate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	table, _ := abi.TableFromLayout(res.Layout, 0)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu0 := threadCPU()
	var stable int
	for b.Loop() {
		o := NewObserver(Options{})
		d := abi.NewDecoder(res.Area, abi.Options{Format: abi.FormatV1, Table: table})
		for d.Next() {
			o.Add(d.Record())
		}
		r := o.Run()
		h, err := Stable(Options{}, r, r)
		if err != nil {
			b.Fatal(err)
		}
		stable = h.Stable
	}
	b.ReportMetric((threadCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(stable), "stable")
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
