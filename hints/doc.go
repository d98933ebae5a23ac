// Package hints turns the values a program made the kernel see into
// mutation candidates for a fuzzer, by the rules of syzkaller's
// prog/hints.go: every value observed at a (function, argument or field)
// is offered back in the widths 8, 4, 2 and 1 bytes, sign-extended, and
// byte-swapped (big endian), without the special values a fuzzer tries
// anyway (0, 1, −1, powers of two and their neighbours, small numbers).
//
// Only values seen in every run count: run the same program two or three
// times, observe each run, and intersect them with Stable. Operands that
// change from run to run (addresses, counters, times) are dropped that
// way, as syzkaller drops comparisons that do not repeat.
//
//	var runs []*hints.Run
//	for _, trace := range traces {
//		o := hints.NewObserver(hints.Options{Slide: slide})
//		for d.Next() { o.Add(d.Record()) }
//		runs = append(runs, o.Run())
//	}
//	h := hints.Stable(hints.Options{}, runs...)
//
// Return values and errnos are a class of their own (Func.Returns): they
// are not candidates for an argument but tell a fuzzer which checks a
// call passed. Candidates are capped per function (Options.MaxPerPC),
// the most frequent values first, and a slot keeps at most
// Options.MaxValuesPerSlot distinct values per run, so that a counter or
// a buffer's bytes cannot fill the table.
//
// It is a package of its own, beside signal rather than inside it: a
// signal reduces values to classes to bound a corpus, hints keep the
// exact values; they share only the slot encoding (signal.Slot).
package hints
