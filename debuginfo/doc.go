// Package debuginfo turns kernel addresses into names: functions, source
// lines, parameters with their types, struct members with their bit
// positions, enumerators. It reads DWARF (per compile unit, in parallel),
// BTF, ELF symbol tables and System.map or kallsyms text, moves addresses
// between the link-time and the traced boot's address space by one rule
// (see Space), checks build ids, derives v1 field tables from DWARF, and
// caches what it read on disk by build id.
//
// Every address kept in an Index is a link-time address; a traced pc is
// turned into one by Space.Link before any lookup. An Index knows where
// each function is declared; [Lines] reads the DWARF line table for the
// line of any address.
//
// # Use
//
// A fuzzer or tool that reads traces of a kernel calls, in this order:
//
//  1. [Open] on the kernel's vmlinux (or a .ko, System.map or kallsyms;
//     [OpenBTF] for /sys/kernel/btf/vmlinux). The [Index] is read-only
//     once built and safe for concurrent lookups; [Options.CacheDir]
//     keeps it on disk by build id, so the next Open of the same image
//     is fast. Modules recorded in a trace ([abi.Meta] Modules) are
//     added with [OpenModule] and [Index.Merge].
//  2. [CheckBuildID] with the trace's metadata: a vmlinux of another build
//     names addresses wrongly, and the error matches [ErrBuildID].
//  3. [SpaceOf] for the trace: the [Space] that turns its pcs into the
//     index's addresses ([Space.Link]) and back ([Space.Runtime]).
//  4. [Layouts] for v1 traces, whose records carry no length: the
//     compiler plugin's own layout first ([PluginLayout], from
//     [abi.LoadLayout]), shapes derived from the debug info
//     ([DWARFLayout]) for the rest. [Binding.Table] gives the
//     [abi.Table] an exact [abi.Decoder] needs.
//  5. For each decoded record, [Index.Lookup] of Space.Link(pc) gives the
//     [Func]: name, source line, parameters and their types ([Type]);
//     [Index.Signature] renders it as C. Package calls builds call trees
//     and renders values on top of these.
//
// Errors a caller may act on match the sentinels [ErrNoSymbols],
// [ErrHiddenAddrs], [ErrBuildID] and [ErrNotKernel] with errors.Is.
package debuginfo
