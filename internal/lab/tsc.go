package lab

import (
	"sync"
	"time"
)

// Under TCG the guest's time stamp counter runs at the host's TSC rate
// (QEMU reads the host counter), but the microvm guest has no HPET or ACPI
// PM timer to calibrate it against, and calibration against the PIT fails
// under emulation: the kernel then marks the TSC unstable and keeps jiffies
// as its clock, whose 4 ms steps make every short timing in the guest 0.
// The lab measures the host's TSC rate once and tells the guest
// (tsc_early_khz=), trusting it (tsc=reliable): clock_gettime gets
// nanoseconds, and the vDSO answers it without a system call.

var (
	tscOnce sync.Once
	tscKHz  int
)

// HostTSCKHz is the host's TSC frequency in kHz, measured over 50 ms of
// the monotonic clock; 0 when it cannot be read (not amd64) or the
// measurement is implausible.
func HostTSCKHz() int {
	tscOnce.Do(func() { tscKHz = measureTSC(50 * time.Millisecond) })
	return tscKHz
}

func measureTSC(window time.Duration) int {
	if !haveTSC {
		return 0
	}
	t0, c0 := time.Now(), readTSC()
	time.Sleep(window)
	t1, c1 := time.Now(), readTSC()
	ns := t1.Sub(t0).Nanoseconds()
	if ns <= 0 || c1 <= c0 {
		return 0
	}
	khz := int(float64(c1-c0) / float64(ns) * 1e6)
	// Anything outside 100 MHz .. 10 GHz is not a TSC rate.
	if khz < 100_000 || khz > 10_000_000 {
		return 0
	}
	return khz
}
