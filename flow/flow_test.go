package flow

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/internal/calltest"
)

func TestParseValue(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
	}{
		{"4096", 4096},
		{"0x1000", 4096},
		{" 0X1000 ", 4096},
		{"0o755", 0o755},
		{"0b101", 5},
		{"-100", 0xffffffffffffff9c},
		{"-0x64", 0xffffffffffffff9c},
		{"+7", 7},
		{"-ENOENT", 0xfffffffffffffffe},
		{"ENOENT", 0xfffffffffffffffe},
		{"ERR_PTR(-ENOMEM)", 0xfffffffffffffff4},
		{"-ERESTARTSYS", uint64(1<<64 - 512)},
		{"18446744073709551615", ^uint64(0)},
		{"-9223372036854775808", 1 << 63},
	} {
		got, err := ParseValue(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseValue(%q) = %#x, %v; want %#x", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "-", "--1", "+-1", "0x", "twelve", "1.5", "ENOSUCH", "-E", "18446744073709551616", "-9223372036854775809", "ERR_PTR(", "0x1g"} {
		if v, err := ParseValue(in); err == nil {
			t.Errorf("ParseValue(%q) = %#x, want an error", in, v)
		} else if !strings.Contains(err.Error(), "value") {
			t.Errorf("ParseValue(%q): error %q does not say what is wrong", in, err)
		}
	}
}

func TestForms(t *testing.T) {
	for _, c := range []struct {
		value uint64
		word  uint64
		width uint8
		want  Form
		ok    bool
	}{
		// -100 in an int, a long, and the int pattern asked for.
		{0xffffffffffffff9c, 0xffffff9c, 4, Exact, true},
		{0xffffffffffffff9c, 0xffffffffffffff9c, 8, Exact, true},
		{0xffffff9c, 0xffffff9c, 4, Exact, true},
		{0xffffff9c, 0xffffffffffffff9c, 8, SignExt32, true},
		{0xff9c, 0xffffffffffffff9c, 8, SignExt16, true},
		{0xff9c, 0xffffff9c, 4, SignExt16, true},
		// A long cut to an int, a short, a byte.
		{0x123456789abc, 0x56789abc, 4, Trunc32, true},
		{0x123456789abc, 0x56789abc, 8, Trunc32, true},
		{0x123456789abc, 0x9abc, 2, Trunc16, true},
		{0x123456789abc, 0xbc, 1, 0, false}, // below 256: weak
		// -100 as a long, found zero extended from an int: its low 4 bytes.
		{0xffffffffffffff9c, 0xffffff9c, 8, Trunc32, true},
		// Byte order.
		{8080, 0x901f, 2, Bswap16, true},
		{8080, 0x901f0000, 4, Bswap32, true},
		{0x12345678, 0x78563412, 4, Bswap32, true},
		{0x12345678, 0x7856341200000000, 8, Bswap64, true},
		// Not there: wider than the field, or another number.
		{4096, 0, 1, 0, false},
		{4096, 4097, 8, 0, false},
		{0x1_0000_0000, 0, 4, 0, false},
	} {
		m := NewMatcher(c.value, false)
		f, ok := m.Match(c.word, c.width)
		if ok != c.ok || ok && f != c.want {
			t.Errorf("value %#x in word %#x of width %d: %v %v, want %v %v (forms %v)", c.value, c.word, c.width, f, ok, c.want, c.ok, m.Forms())
		}
	}
}

func TestUnsigned(t *testing.T) {
	m := NewMatcher(0xfffffffffffffffe, false) // -2
	if _, ok := m.MatchUnsigned(0xfe, 1, true); ok {
		t.Error("the u8 254 is no -2")
	}
	if f, ok := m.MatchUnsigned(0xfe, 1, false); !ok || f != Exact {
		t.Error("the s8 -2 is -2")
	}
	if f, ok := m.MatchUnsigned(0xfffffffffffffffe, 8, true); !ok || f != Exact {
		t.Error("a u64 holds the pattern of -2")
	}
	if f, ok := NewMatcher(0xfffffffe, false).MatchUnsigned(0xfffffffe, 4, true); !ok || f != Exact {
		t.Error("the u32 0xfffffffe")
	}
}

func TestWeakForms(t *testing.T) {
	for _, v := range []uint64{0, 1, ^uint64(0)} {
		m := NewMatcher(v, false)
		if len(m.Forms()) != 0 || len(m.Skipped) == 0 {
			t.Errorf("%#x: forms %v without --small, skipped %v", v, m.Forms(), m.Skipped)
		}
		if _, ok := NewMatcher(v, true).Match(v, 8); !ok {
			t.Errorf("%#x not found with small", v)
		}
	}
	// A small value is found exactly, never byte-swapped.
	m := NewMatcher(3, false)
	if _, ok := m.Match(0x300, 2); ok {
		t.Error("3 byte-swapped is too weak")
	}
	if f, ok := m.Match(3, 4); !ok || f != Exact {
		t.Error("3 not found")
	}
	// Truncations to small numbers only with small.
	if _, ok := NewMatcher(0x100000003, false).Match(3, 4); ok {
		t.Error("a truncation to 3 is too weak")
	}
	if f, ok := NewMatcher(0x100000003, true).Match(3, 4); !ok || f != Trunc32 {
		t.Errorf("with small: %v %v", f, ok)
	}
}

const (
	pcA = 0xffffffff81000100
	pcB = 0xffffffff81000200
	pcC = 0xffffffff81000300
)

var entry, ret = calltest.Entry, calltest.Return

// A(fd=7) { B(x=7) = 0x7000000000000000; C(s={7, 9}) } = -100: the value 7
// goes in as A's argument, B's argument, a field of C's struct, and comes
// back byte-swapped from B; A's return (an int) is -100.
func sample() *calls.Tree {
	return calltest.Build(calltest.Area(
		entry(pcA, 0, 4, 7),
		entry(pcB, 0, 8, 7),
		ret(pcB, 8, 0x0700000000000000),
		entry(pcC, 0, 8, 7, 0x1234),
		ret(pcC, 0, 0),
		ret(pcA, 4, 0xffffff9c),
	))
}

func TestFind(t *testing.T) {
	tr := sample()
	nm := &calls.Namer{}
	res := Find(tr, nm, NewMatcher(7, false))
	var got []string
	for _, m := range res.Matches {
		got = append(got, strings.Join(m.Path, ">")+" "+m.Name+"="+m.Text+" "+m.Form.String())
	}
	a, b, c := "0xffffffff81000100", "0xffffffff81000200", "0xffffffff81000300"
	want := []string{
		a + " arg0=0x7 exact",
		a + ">" + b + " arg0=0x7 exact",
		a + ">" + c + " arg0[0]=0x7 exact",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Calls != 3 {
		t.Errorf("%d calls", res.Calls)
	}
	// 0x0700000000000000 is 7 byte-swapped, but 7 is too small for that
	// unless asked: with small, B's return shows, after B's entry and
	// before C's.
	res = Find(tr, nm, NewMatcher(7, true))
	if len(res.Matches) != 4 || !res.Matches[2].Return || res.Matches[2].Form != Bswap64 {
		t.Fatalf("with small: %+v", res.Matches)
	}
	// -100 returned as an int, after A's callees.
	res = Find(tr, nm, NewMatcher(0xffffffffffffff9c, false))
	if len(res.Matches) != 1 || !res.Matches[0].Return || res.Matches[0].Depth != 0 || res.Matches[0].Form != Exact {
		t.Fatalf("-100: %+v", res.Matches)
	}
	var text bytes.Buffer
	if err := WriteText(&text, Find(tr, nm, NewMatcher(7, false))); err != nil {
		t.Fatal(err)
	}
	wantText := "value 7 = 0x7: 3 matches in 3 calls (looked for: exact)\n" +
		a + ": arg0 = 0x7  [exact, seq 1]\n" +
		"  " + b + ": arg0 = 0x7  [exact, seq 2]\n" +
		"  " + c + ": arg0[0] = 0x7  [exact, seq 4]\n"
	if text.String() != wantText {
		t.Fatalf("text:\n%s\nwant:\n%s", text.String(), wantText)
	}
}

// FuzzParseValue: any text gives a value or an error, and a value parsed
// reads back the same from its decimal form.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"4096", "-100", "0x1000", "-ENOENT", "ERR_PTR(-EINVAL)", "ENOMEM", "0o7", "-0b1", "", "-", "--", "ERR_PTR()"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValue(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		back, err := ParseValue(strconv.FormatUint(v, 10))
		if err != nil || back != v {
			t.Fatalf("%q = %#x, but its decimal reads %#x, %v", s, v, back, err)
		}
		NewMatcher(v, true).Match(v, 8)
	})
}

// FuzzFind: any buffer and any value: matches in event order, each in a
// call of the tree, and the output writes.
func FuzzFind(f *testing.F) {
	w := calltest.Area(entry(pcA, 0, 4, 7), entry(pcB, 0, 8, 7, 9), ret(pcB, 8, 7), ret(pcA, 4, 0xffffff9c))
	seed := make([]byte, 8*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint64(seed[8*i:], x)
	}
	f.Add(seed, uint64(7), false)
	f.Add([]byte{1, 2, 3}, uint64(0), true)
	f.Fuzz(func(t *testing.T, b []byte, v uint64, small bool) {
		words := make([]uint64, len(b)/8)
		for i := range words {
			words[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		tr := calltest.Build(words)
		res := Find(tr, &calls.Namer{}, NewMatcher(v, small))
		for k, m := range res.Matches {
			if m.Call < 0 || m.Call >= len(tr.Calls) || len(m.Path) != m.Depth+1 {
				t.Fatalf("match %+v", m)
			}
			if k > 0 && res.Matches[k-1].key > m.key {
				t.Fatal("matches out of order")
			}
		}
		var out bytes.Buffer
		if err := WriteText(&out, res); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&out, res); err != nil {
			t.Fatal(err)
		}
	})
}
