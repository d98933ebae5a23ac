package abi

// All of abi's unsafe code: views of words as bytes and of bytes as words,
// which let a trace file's words be read in place.

import "unsafe"

// littleEndianHost holds on the machines kcovdf reads buffers on; the
// views below rely on it.
var littleEndianHost = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// wordBytes is the memory of w as bytes.
func wordBytes(w []uint64) []byte {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)*8)
}

// wordsInPlace views b (a multiple of 8 bytes) as words without copying;
// ok is false when b is not 8-byte aligned or the host is big endian,
// where only a copy gives the right values.
func wordsInPlace(b []byte) (w []uint64, ok bool) {
	if len(b) == 0 {
		return nil, littleEndianHost
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if !littleEndianHost || uintptr(p)%unsafe.Alignof(uint64(0)) != 0 {
		return nil, false
	}
	return unsafe.Slice((*uint64)(p), len(b)/8), true
}
