// Package flow follows one value through a trace's call tree: every call
// where the value, or a truncation, sign extension or byte swap of it,
// was an argument, a struct field or a return value, in the order the
// kernel produced them, with the path from the system call to the call.
//
// A Matcher holds the forms of a value (ParseValue reads it as a user
// writes it, errno names included); Find searches a calls.Tree with it.
// Forms that would match almost anything (0, 1, -1, a truncation to a
// number below 256) are left out unless asked for.
package flow
