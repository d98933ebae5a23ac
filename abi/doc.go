// Package abi holds the wire formats of kcov dataflow and the decoder that
// turns a captured buffer back into records. It is the part of kcovdf a Go
// fuzzer imports to read what the kernel wrote; it has no dependencies
// beyond the standard library.
//
// # Wire formats
//
// The kernel writes records into a shared buffer of 64-bit words, area[0]
// holding how many words follow. Three record layouts exist (docs/records.md):
//
//   - [FormatV1], the one our kernel writes: header (type and a 24-bit
//     sequence number), pc, meta (argument index, size, pointer), then the
//     values. The header carries no length, so an exact decode needs the
//     field tables of the build: a [Layout], turned into a [Table].
//   - [FormatV2] adds a 4-bit value count to the header.
//   - [FormatV3] has a 16-bit count, size and argument index in the header,
//     and comparison records.
//
// [Record] is the layout-independent form; [EncodeV1], [EncodeV2],
// [EncodeV3] and [Encode] write records back, which tests and models use.
//
// # Ioctl numbers
//
// [IoctlInitTrace], [IoctlEnable], [IoctlDisable] and [IoctlGetDropped] are
// the requests of /sys/kernel/debug/kcov_dataflow (docs/device.md);
// [MinWords] and [MaxWords] bound the buffer size.
//
// # Trace files
//
// A capture is kept as a trace file: JSON metadata ([Meta]) and the words,
// little endian and 8-byte aligned (docs/tracefile.md). [LoadTrace] maps the
// file and reads the words in place where it can, so opening a 128 MiB
// trace costs no copy; call [Trace.Close] when done. [ParseTrace] reads one
// from memory, [SaveTrace] and [WriteTrace] write one. Raw dumps of the
// area (no header) are read too.
//
// # Decoding
//
// [NewDecoder] walks one buffer:
//
//	d := abi.NewDecoder(tr.Words, abi.Options{Format: abi.FormatV1, Table: table})
//	for d.Next() {
//		r := d.Record() // valid until the next call; r.Values aliases the buffer
//		...
//	}
//	sum := d.Summary() // counts, anomalies, whether the decode was exact
//
// The decoder never allocates per record and never panics on bad input:
// whatever it cannot attribute to a record it reports as an [Anomaly] and
// counts in [Summary]. With a [Table] v1 decoding is exact; without one it
// re-synchronises on sequence numbers and proves each record boundary by
// the chain of records that follows it, rather than guess.
//
// # Follow mode
//
// [IoctlEnableFollow] traces a task and every task it creates into one
// buffer carved into per-task chunks, each a v1 area of its own behind a
// header that names its task (docs/follow.md). [DecodeFollow] turns such a
// buffer into one [TaskStream] per task, in order, with its process,
// parent, name and drops; [SnapshotFollow] copies a buffer that tasks are
// still writing.
package abi
