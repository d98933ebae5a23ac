// Package redact hides kernel addresses in what kcovdf prints and
// exports, so that a trace can be shared without leaking where the
// traced kernel was loaded (its KASLR offset) or where its objects lived.
//
// A kernel address (calls.KernelAddress: the upper canonical half, ERR_PTR
// errnos excluded) is replaced by a token: the text kptr_ and 12 hex
// digits, or, where a number is wanted, the word 0x6b70 followed by the
// same 12 digits, which lies in the non-canonical hole and so is never a
// real address. The digits are the first 48 bits of an HMAC-SHA256 of the
// address under a key of the trace's own, derived from a secret and the
// trace's ID: the same address gives the same token everywhere in one
// trace, so values can still be followed and compared, while the token
// says nothing of the address without the secret. Function names and
// offsets (do_sys_openat2+0x19), user-space values and small integers
// are kept.
package redact
