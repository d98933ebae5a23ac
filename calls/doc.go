// Package calls turns a task's records into calls and call trees: the
// entry records of one call grouped, nesting from the order of entries
// and returns, and values rendered by their C types.
//
// # Use
//
// After decoding (package abi) with the names of package debuginfo at
// hand, a fuzzer or tool calls, in this order:
//
//  1. [Build] with the buffer's words and an [abi.Decoder] over them: a
//     [Tree] whose Calls are in entry order, each with its depth, parent
//     and the extent of its descendants ([Tree.Children] walks them).
//     [Options.Markers] says the kernel emits the no-parameter and void
//     markers (ours does), which makes nesting exact; [Options.Full] that
//     the buffer filled up. Values stay in the buffer, so keep it alive.
//  2. A [Namer] with whatever is known: the debuginfo.Index, the trace's
//     debuginfo.Space and the debuginfo.Binding of its layouts. Any of
//     them may be missing; what is rendered degrades to names from the
//     layouts, then to hex words.
//  3. [Namer.Func] for a call's function, [Namer.Args] and [Namer.Ret] for
//     its values as C would show them ("-ENOENT", "NULL",
//     "{flags=0x8000, mode=0}"), [Namer.IsErr] for a call that returned an
//     errno or an ERR_PTR. [ErrnoName] and [ErrnoValue] convert errno
//     names and numbers.
//
// [Stream] builds the same calls one top-level call at a time and reuses
// the memory, for full buffers; [Align] places classic kcov's PCs of the
// same thread on the calls.
//
// [Flags] on each [Call] say what the records left unsure: a call no
// return closed, a return without its entry, nesting that was inferred.
package calls
