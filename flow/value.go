package flow

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/internal/bitwidth"
)

// ParseValue reads a value as a user writes it: decimal (4096, -100),
// hex (0x1000, -0x64), octal (0o755) or binary (0b101) literals, and
// errno names (-ENOENT, ENOENT, ERR_PTR(-ENOENT)). The result is the
// value's 64-bit pattern: -2 is 0xfffffffffffffffe.
func ParseValue(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty value: give a number (4096, 0x1000, -100) or an errno name (-ENOENT)")
	}
	if strings.HasPrefix(t, "ERR_PTR(") && strings.HasSuffix(t, ")") {
		t = t[len("ERR_PTR(") : len(t)-1]
	}
	neg := false
	body := t
	if strings.HasPrefix(body, "-") {
		neg, body = true, body[1:]
	} else if strings.HasPrefix(body, "+") {
		body = body[1:]
	}
	if len(body) > 1 && body[0] == 'E' && body[1] >= 'A' && body[1] <= 'Z' {
		e, ok := calls.ErrnoValue(body)
		if !ok {
			return 0, fmt.Errorf("value %q: no errno of that name (Linux x86-64 names such as ENOENT, EINVAL, ERESTARTSYS)", s)
		}
		// An errno is returned negative; ENOENT alone means -ENOENT too.
		return uint64(-e), nil
	}
	if body == "" || body[0] == '-' || body[0] == '+' {
		return 0, fmt.Errorf("value %q: not a number; give decimal, 0x hex, or an errno name such as -ENOENT", s)
	}
	u, err := strconv.ParseUint(body, 0, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("value %q: does not fit in 64 bits", s)
		}
		return 0, fmt.Errorf("value %q: not a number; give decimal, 0x hex, or an errno name such as -ENOENT", s)
	}
	if !neg {
		return u, nil
	}
	if u > 1<<63 {
		return 0, fmt.Errorf("value %q: below the smallest 64-bit integer", s)
	}
	return -u, nil
}

// Form is how a captured word shows the value asked for.
type Form uint8

const (
	// Exact: the word holds the value, at the word's width (-100 in an
	// int is 0xffffff9c).
	Exact Form = iota
	// SignExt32, SignExt16, SignExt8: the value is a 4, 2 or 1-byte
	// pattern with its top bit set, and a wider word holds it sign
	// extended (0xffffff9c asked, 0xffffffffffffff9c found).
	SignExt32
	SignExt16
	SignExt8
	// Trunc32, Trunc16, Trunc8: the value does not fit in 4, 2 or 1
	// bytes, and a word holds its low bytes (zero or sign extended).
	Trunc32
	Trunc16
	Trunc8
	// Bswap64, Bswap32, Bswap16: a word holds the value with its 8, 4 or
	// 2 bytes in the other order (htonl, htons, cpu_to_be64).
	Bswap64
	Bswap32
	Bswap16
	numForms
)

var formNames = [numForms]string{"exact", "sext32", "sext16", "sext8", "trunc32", "trunc16", "trunc8", "bswap64", "bswap32", "bswap16"}

func (f Form) String() string {
	if f < numForms {
		return formNames[f]
	}
	return "form" + strconv.Itoa(int(f))
}

// MarshalText names the form in JSON.
func (f Form) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// pattern is one number a word may hold for the value to be found in it.
type pattern struct {
	form Form
	// bits is the number as a 64-bit pattern; a word of width w holds it
	// when its low w bytes equal bits' and bits fits in w bytes (as a
	// signed or an unsigned number).
	bits uint64
	// minWidth: only words at least this wide (a truncation to 2 bytes
	// is not looked for in a 1-byte field).
	minWidth uint8
	weak     bool
}

// fits tells whether the number bits is representable in w bytes, as an
// unsigned or a signed number.
func fits(bits uint64, w uint8) bool {
	m := bitwidth.Mask(uint(w))
	return w >= 8 || bits <= m || uint64(bitwidth.SignExtend(bits&m, uint(w))) == bits
}

// smallMagnitude tells whether bits, as a signed number, is within ±limit.
func smallMagnitude(bits uint64, limit int64) bool {
	s := int64(bits)
	return s >= -limit && s <= limit
}

// Matcher finds one value, in its forms, in captured words.
type Matcher struct {
	Value    uint64
	patterns []pattern
	// Skipped lists the forms left out as too weak (see Options.Small).
	Skipped []string
}

// NewMatcher prepares the forms of v. Forms too weak to mean anything are
// looked for only with small: the value itself when it is 0, 1 or -1;
// truncations to a number within ±255 (any count, flag or index would
// match); byte swaps of a value within ±255 (the byte-swapped 3 is any
// 0x300 flag word).
func NewMatcher(v uint64, small bool) *Matcher {
	m := &Matcher{Value: v}
	add := func(p pattern) {
		for _, q := range m.patterns {
			if q.bits == p.bits && q.minWidth <= p.minWidth {
				return // a stronger form finds the same words
			}
		}
		if p.bits == v && p.form != Exact {
			return
		}
		if p.weak && !small {
			m.Skipped = append(m.Skipped, fmt.Sprintf("%s (%#x)", p.form, p.bits))
			return
		}
		m.patterns = append(m.patterns, p)
	}
	add(pattern{form: Exact, bits: v, minWidth: 1, weak: smallMagnitude(v, 1)})
	for _, s := range []struct {
		w uint8
		f Form
	}{{4, SignExt32}, {2, SignExt16}, {1, SignExt8}} {
		if v <= bitwidth.Mask(uint(s.w)) && bitwidth.Negative(v, uint(s.w)) {
			b := uint64(bitwidth.SignExtend(v, uint(s.w)))
			add(pattern{form: s.f, bits: b, minWidth: s.w + 1, weak: smallMagnitude(b, 1)})
		}
	}
	for _, s := range []struct {
		w uint8
		f Form
	}{{4, Trunc32}, {2, Trunc16}, {1, Trunc8}} {
		if v <= bitwidth.Mask(uint(s.w)) {
			continue // nothing to cut
		}
		// The low bytes, zero extended (a long stored in a u32, or -100
		// read back as 0xffffff9c), or sign extended.
		low := v & bitwidth.Mask(uint(s.w))
		weak := low < 256 || smallMagnitude(v, 1)
		add(pattern{form: s.f, bits: low, minWidth: s.w, weak: weak})
		if se := uint64(bitwidth.SignExtend(low, uint(s.w))); se != low {
			add(pattern{form: s.f, bits: se, minWidth: s.w, weak: weak || smallMagnitude(se, 255)})
		}
	}
	for _, s := range []struct {
		w uint8
		f Form
	}{{8, Bswap64}, {4, Bswap32}, {2, Bswap16}} {
		if !fits(v, s.w) {
			continue
		}
		low := v & bitwidth.Mask(uint(s.w))
		var b uint64
		switch s.w {
		case 8:
			b = bits.ReverseBytes64(low)
		case 4:
			b = uint64(bits.ReverseBytes32(uint32(low)))
		case 2:
			b = uint64(bits.ReverseBytes16(uint16(low)))
		}
		if b == low {
			continue // a palindrome: the exact form finds it
		}
		add(pattern{form: s.f, bits: b, minWidth: s.w, weak: smallMagnitude(v, 255)})
	}
	return m
}

// Forms lists the forms looked for, strongest first.
func (m *Matcher) Forms() []string {
	var out []string
	seen := map[Form]bool{}
	for _, p := range m.patterns {
		if !seen[p.form] {
			seen[p.form] = true
			out = append(out, p.form.String())
		}
	}
	return out
}

// Match tells whether a word read from an object of width bytes shows
// the value, and in which form; the strongest form wins.
func (m *Matcher) Match(word uint64, width uint8) (Form, bool) {
	return m.MatchUnsigned(word, width, false)
}

// MatchUnsigned is Match for an object whose type may be known to be
// unsigned: then a negative number is not found in it below 8 bytes (the
// u8 254 is no -2).
func (m *Matcher) MatchUnsigned(word uint64, width uint8, unsigned bool) (Form, bool) {
	if width == 0 || width > 8 {
		width = 8
	}
	c := word & bitwidth.Mask(uint(width))
	for _, p := range m.patterns {
		if width < p.minWidth {
			continue
		}
		if c != p.bits&bitwidth.Mask(uint(width)) {
			continue
		}
		if unsigned && width < 8 && p.bits > bitwidth.Mask(uint(width)) || !fits(p.bits, width) {
			continue
		}
		return p.form, true
	}
	return 0, false
}
