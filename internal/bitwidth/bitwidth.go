// Package bitwidth is the arithmetic of values narrower than a word: the
// mask of a width, and sign extension from it. A value is carried in a
// uint64 whatever its C type; its width, in bytes (or in bits for a
// bitfield), says how much of the word is its own.
//
// A width of 0, or of a word or more, stands for the whole word: a record
// whose size is not known is read as 8 bytes, so Mask(0) keeps every bit
// and SignExtend(v, 0) is v. The functions are small enough to inline:
// they sit on the decoders' and the signal extractor's hot paths.
package bitwidth

// Mask returns the bits of a value n bytes wide: the low 8n bits set, or
// every bit for n of 0 or 8 and more.
func Mask(n uint) uint64 {
	if n-1 >= 7 { // 0 wraps round: the whole word
		return ^uint64(0)
	}
	return 1<<(8*n) - 1
}

// SignExtend reads the low n bytes of v as a two's complement number.
// For n of 0 or 8 and more it is v as an int64.
func SignExtend(v uint64, n uint) int64 {
	if n-1 >= 7 {
		return int64(v)
	}
	sh := 64 - 8*n
	return int64(v<<sh) >> sh
}

// SignExtendBits reads the low n bits of v as a two's complement number
// (a signed bitfield). For n of 0 or 64 and more it is v as an int64.
func SignExtendBits(v uint64, n uint) int64 {
	if n-1 >= 63 {
		return int64(v)
	}
	sh := 64 - n
	return int64(v<<sh) >> sh
}

// Negative tells whether v, n bytes wide, has its sign bit set: the top
// bit of its low n bytes, or of the word for n of 0 or 8 and more.
func Negative(v uint64, n uint) bool {
	return SignExtend(v, n) < 0
}
