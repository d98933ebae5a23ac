package abi

// For the external tests (package abi_test).

// BytesOf is the little-endian image of words, as files hold them.
var BytesOf = bytesOf
