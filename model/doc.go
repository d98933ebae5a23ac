// Package model is an executable model of the kernel side of kcov
// dataflow: the device's state machine with the errno of every call, and
// the record writer over a simulated kernel address space with unmapped
// pages. It is the reference that the decoder, the conformance suite and
// "kcovdf sim" are checked against.
//
// For a fuzzer it is the device without a kernel: tests of code that
// drives /sys/kernel/debug/kcov_dataflow can run the same calls against
// a Device here (Open, Ioctl, Mmap, and the callbacks TraceArgs and
// TraceRet that instrumented functions make), and Simulate makes
// realistic buffers, with the ground truth of every record, to test
// decoders and feedback on.
//
// The model is single-threaded: a Device and its tasks belong to one
// goroutine at a time. The follow mode (docs/follow.md) is the exception:
// the tasks of a followed tree may record, fork, exec and exit on
// goroutines of their own, as they would on CPUs of their own.
package model
