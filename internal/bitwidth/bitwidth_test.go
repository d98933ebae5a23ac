package bitwidth

import (
	"fmt"
	"math"
	"testing"
)

// whole is a width that stands for the whole word.
const whole = ^uint64(0)

func TestMask(t *testing.T) {
	for _, c := range []struct {
		n    uint
		want uint64
	}{
		{0, whole}, // not known: the whole word
		{1, 0xff},
		{2, 0xffff},
		{3, 0xffffff},
		{4, 0xffffffff},
		{5, 0xff_ffffffff},
		{6, 0xffff_ffffffff},
		{7, 0xffffff_ffffffff},
		{8, whole},
		{9, whole},
		{64, whole},
		{math.MaxUint, whole},
	} {
		if got := Mask(c.n); got != c.want {
			t.Errorf("Mask(%d) = %#x, want %#x", c.n, got, c.want)
		}
	}
}

// extension is a value, a width and the number they make.
type extension struct {
	v    uint64
	n    uint
	want int64
}

func TestSignExtend(t *testing.T) {
	for _, c := range []extension{
		{0xff, 0, 0xff}, // not known: the whole word
		{whole, 0, -1},
		{0x7f, 1, 127},
		{0x80, 1, -128},
		{0xff, 1, -1},
		{0x1ff, 1, -1}, // the bits above the width do not count
		{0xabcd_00, 1, 0},
		{0x7fff, 2, 32767},
		{0x8000, 2, -32768},
		{0xffff, 2, -1},
		{0x7fffff, 3, 0x7fffff},
		{0x800000, 3, -0x800000},
		{0x7fffffff, 4, math.MaxInt32},
		{0x80000000, 4, math.MinInt32},
		{0xffffff9c, 4, -100},
		{0xffffffff_ffffff9c, 4, -100},
		{0x80_00000000, 5, -0x80_00000000},
		{0x7f_ffffffff, 5, 0x7f_ffffffff},
		{0x8000_00000000, 6, -0x8000_00000000},
		{0x800000_00000000, 7, -0x800000_00000000},
		{0xffffff_ffffffea, 7, -22},
		{0x7fffffff_ffffffff, 8, math.MaxInt64},
		{0x80000000_00000000, 8, math.MinInt64},
		{whole, 8, -1},
		{0xff, 9, 0xff},
		{whole, math.MaxUint, -1},
	} {
		if got := SignExtend(c.v, c.n); got != c.want {
			t.Errorf("SignExtend(%#x, %d) = %d, want %d", c.v, c.n, got, c.want)
		}
		if got, want := Negative(c.v, c.n), c.want < 0; got != want {
			t.Errorf("Negative(%#x, %d) = %v, want %v", c.v, c.n, got, want)
		}
	}
}

func TestSignExtendBits(t *testing.T) {
	for _, c := range []extension{
		{0x5, 0, 5}, // not known: the whole word
		{0, 1, 0},
		{1, 1, -1},
		{0x3, 2, -1},
		{0x2, 2, -2},
		{0x1, 2, 1},
		{0x7, 3, -1},
		{0x4, 3, -4},
		{0x3, 3, 3},
		{0xf9, 4, -7}, // the bits above the width do not count
		{0x800, 12, -2048},
		{0x7ff, 12, 2047},
		{0x1_ffffffff, 33, -1},
		{0x1_00000000, 33, -0x1_00000000},
		{0x7fffffff_ffffffff, 63, -1},
		{0x3fffffff_ffffffff, 63, 0x3fffffff_ffffffff},
		{whole, 64, -1},
		{0x80000000_00000000, 64, math.MinInt64},
		{whole, 65, -1},
		{0x42, math.MaxUint, 0x42},
	} {
		if got := SignExtendBits(c.v, c.n); got != c.want {
			t.Errorf("SignExtendBits(%#x, %d) = %d, want %d", c.v, c.n, got, c.want)
		}
	}
}

// TestAgree checks every width against a reading bit by bit: the mask
// has exactly the width's bits, the byte and the bit forms of sign
// extension agree, and extension copies the top bit of the width up.
func TestAgree(t *testing.T) {
	values := []uint64{0, 1, 0x7f, 0x80, 0xff, 0x8000, 0x7fff_ffff, 0x8000_0000,
		0xdead_beef_cafe_f00d, 0x0123_4567_89ab_cdef, 1 << 63, whole}
	for bytes := uint(0); bytes <= 10; bytes++ {
		bits := 8 * bytes
		if bytes == 0 || bytes > 8 {
			bits = 64
		}
		var want uint64
		for b := uint(0); b < bits; b++ {
			want |= 1 << b
		}
		if m := Mask(bytes); m != want {
			t.Errorf("Mask(%d) = %#x, want %#x", bytes, m, want)
		}
		for _, v := range values {
			top := v >> (bits - 1) & 1
			ext := v & want
			for b := bits; b < 64; b++ {
				ext |= top << b
			}
			if got := SignExtend(v, bytes); got != int64(ext) {
				t.Errorf("SignExtend(%#x, %d) = %#x, want %#x", v, bytes, uint64(got), ext)
			}
			if bytes > 0 && bytes <= 8 {
				if got := SignExtendBits(v, 8*bytes); got != int64(ext) {
					t.Errorf("SignExtendBits(%#x, %d) = %#x, want %#x", v, 8*bytes, uint64(got), ext)
				}
			}
		}
	}
	for bits := uint(1); bits <= 64; bits++ {
		for _, v := range values {
			top := v >> (bits - 1) & 1
			var ext uint64
			for b := uint(0); b < 64; b++ {
				if b < bits {
					ext |= v & (1 << b)
				} else {
					ext |= top << b
				}
			}
			if got := SignExtendBits(v, bits); got != int64(ext) {
				t.Errorf("SignExtendBits(%#x, %d) = %#x, want %#x", v, bits, uint64(got), ext)
			}
		}
	}
}

func ExampleSignExtend() {
	// -100 read back from an int stored in a long.
	fmt.Println(SignExtend(0xffffff9c, 4), Mask(4) == 0xffffffff, Negative(0x80, 1))
	// Output: -100 true true
}
