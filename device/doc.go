// Package device is the Go client of /sys/kernel/debug/kcov_dataflow, for
// fuzzers and tools that record which values flowed through the kernel:
// it allocates and maps a buffer, binds it to the calling thread, and
// takes consistent snapshots of what the kernel wrote. The records in
// those words are decoded by package abi.
//
// Tracing is per kernel task, that is per OS thread. A goroutine moves
// between threads whenever the Go scheduler likes, so Enable, the code to
// trace and Disable must run on one goroutine locked to its thread with
// runtime.LockOSThread; Collect does that. Goroutines the traced code
// starts run on other threads and are not traced.
//
// Record traces a command from its first instruction. With Follow it uses
// the follow mode (EnableFollow, docs/follow.md): every thread and process
// the command creates, transitively, is traced too, each into chunks of
// the buffer of its own, and Record waits for the whole tree.
//
// Errors from the kernel are *OpError values that match the sentinels
// ErrNoDevice, ErrPermission, ErrBusy, ErrInvalid, ErrNotSupported and
// ErrNoMemory with errors.Is, and unwrap to the errno itself.
//
// The device exists on Linux only; elsewhere the package holds just the
// types a host reads results with: Latency, OpError and the sentinels.
package device
