// Package calls turns a task's records into calls and call trees: the
// entry records of one call grouped, nesting from the order of entries
// and returns, and values rendered by their C types.
//
// Build keeps every call of a buffer; Stream hands over one top-level
// call at a time and reuses the memory, for full buffers. A Namer names
// the calls and renders their values from whatever is at hand: DWARF or
// BTF types (debuginfo.Index), the compiler's layout (debuginfo.Binding),
// or neither, for hex words.
package calls
