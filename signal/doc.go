// Package signal turns kcov dataflow records into fuzzer feedback: a set
// of features, each a (function, argument or field, value class), in the
// spirit of syzkaller's pkg/signal but for values rather than edges.
//
// A value is reduced to its class before it becomes a feature, so that
// a fuzzer's map stays bounded: small integers exactly (−256 … 255),
// larger ones by sign, bit length and a popcount bucket, errnos and
// ERR_PTRs by their errno, NULL, kernel and user pointers as a class
// each, unreadable fields as one. docs/signal.md has the encoding.
//
//	e := signal.NewExtractor(signal.Options{Slide: tr.Meta.KASLROffset.Offset})
//	d := abi.NewDecoder(tr.Words, opt)
//	for d.Next() {
//		e.Add(d.Record())
//	}
//	s := e.Signal()
//	if add := corpus.Diff(s); add.Len() > 0 {
//		corpus = corpus.Merge(add) // the input found something new
//	}
//
// Extract does the same for records in a slice, with the default
// options. A feature names its function by the low 32 bits of its
// link-time address (the pc without the boot's KASLR offset, Options.Slide),
// so it is stable across boots of one kernel build; Options.FuncID can
// name functions by a hash of their name instead (FuncIDByName), which
// survives a rebuild. Options.Types gives values their C types
// (TypesFromDebugInfo); without it the value rules decide what is a
// pointer or an errno.
//
// The feature space is bounded three ways: a value's class has at most a
// few thousand possibilities per slot; a struct gives features for its
// first Options.MaxFields fields only; and one extraction adds at most
// Options.MaxPerSlot features per slot, so that a loop over many values
// cannot flood a corpus.
//
// Signals are sorted sets: Merge, Diff, Intersect, Minimize over a
// corpus, and a binary or JSON form (MarshalBinary, MarshalJSON, Parse).
package signal
