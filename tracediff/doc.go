// Package tracediff compares the call trees of two traces, such as a
// failing and a passing run of one program: it aligns them task by task
// and call path by call path (function names from the root; sibling
// calls matched as a longest common subsequence of their names, so an
// inserted or a missing call shifts nothing after it), finds the first
// place where the sequences of calls differ, and ranks the aligned calls
// whose arguments or returns differ: an errno on one side only first,
// then nearer the system call, then more values differing.
//
// Addresses change from run to run, so by default pointers compare by
// class (NULL, an ERR_PTR, or valid) and kernel addresses match any
// kernel address; Options.Addresses compares them exactly.
package tracediff
