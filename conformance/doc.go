// Package conformance checks a kcov dataflow device with one table of
// cases that runs against the real device and against the model alike:
// where they disagree, one of them has a bug. The cases cover every errno
// of the device's ioctls, the size and mmap rules, two files and two
// tasks, isolation, fork, exit, a close from another task, overflow and
// the drop counter, reset and re-enable, and classic kcov beside it; and
// the follow mode (docs/follow.md), whose cases skip on a device that
// refuses KCOV_DF_ENABLE_FOLLOW with ENOTTY and need tasks that are
// TreeTasks (the model's are; a Device's are when it finds the helper
// program kcovdf-treetask, a C program driven over pipes that forks,
// starts threads and execs on command).
//
// A fuzzer or a kernel CI can run it before trusting a kernel's traces:
// Run(&Device{Path: ...}, Options{}) on the kernel, Run(NewModel(), ...)
// anywhere. Stress hammers many threads, each with its own buffer, and
// checks that no record is ever lost silently; StressFollow does the same
// for one followed tree of threads and processes sharing a buffer.
//
// Errors keep the kernel's errno: errors.Is(err, syscall.ENOENT) tells
// that the device is missing.
package conformance
