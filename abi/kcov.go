package abi

// Classic kcov's ioctls (<linux/kcov.h>): kcovdf measures its own cost
// against classic kcov's and can collect both in one run.
var (
	// KcovInitTrace sizes classic kcov's buffer, in words.
	KcovInitTrace = ior('c', 1, 8)
	// KcovEnable starts collecting for the calling task; the argument
	// is the mode, KcovTracePC or KcovTraceCmp.
	KcovEnable = ionone('c', 100)
	// KcovDisable stops it.
	KcovDisable = ionone('c', 101)
)

// Classic kcov's modes: area[0] counts the PCs (TracePC) or the
// four-word comparison records (TraceCmp) that follow it.
const (
	KcovTracePC  = 0
	KcovTraceCmp = 1
)
