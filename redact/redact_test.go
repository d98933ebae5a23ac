package redact

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/calls"
)

func testTrace(t testing.TB, id int64) *Trace {
	t.Helper()
	var s Secret
	copy(s[:], "a secret of thirty-two bytes....")
	return s.Trace(id)
}

func TestWord(t *testing.T) {
	rt := testTrace(t, 1)
	const a, b = 0xffffffff81234567, 0xffff888004114eb0
	ta, tb := rt.Word(a), rt.Word(b)
	if !IsToken(ta) || !IsToken(tb) || ta == tb {
		t.Fatalf("tokens %#x %#x", ta, tb)
	}
	if rt.Word(a) != ta || testTrace(t, 1).Word(a) != ta {
		t.Errorf("the same address under the same key gave another token")
	}
	if testTrace(t, 2).Word(a) == ta {
		t.Errorf("two traces share a token")
	}
	// Kept: user space, small and negative integers, errnos, the fault
	// marker, tokens themselves.
	for _, w := range []uint64{0, 1, 4096, 0x00007ffe12345678, 0x0000800000000000 - 1, 1<<64 - 2, 1<<64 - 4095, 0xfffffffffffffff2, ta} {
		if rt.Word(w) != w {
			t.Errorf("%#x redacted", w)
		}
	}
	if rt.Word(0xffff800000000000) == 0xffff800000000000 {
		t.Errorf("the lowest kernel address is kept")
	}
	text := TokenText(ta)
	if !regexp.MustCompile(`^kptr_[0-9a-f]{12}$`).MatchString(text) {
		t.Errorf("token text %q", text)
	}
	for _, s := range []string{text, "0x" + strconv.FormatUint(ta, 16), strconv.FormatUint(ta, 10)} {
		if w, ok := ParseToken(s); !ok || w != ta {
			t.Errorf("ParseToken(%q) = %#x %v", s, w, ok)
		}
	}
	for _, s := range []string{"kptr_", "kptr_123", "kptr_zzzzzzzzzzzz", "0xffffffff81234567", "12", ""} {
		if _, ok := ParseToken(s); ok {
			t.Errorf("ParseToken(%q) took it", s)
		}
	}
}

func TestText(t *testing.T) {
	rt := testTrace(t, 7)
	const a = 0xffffffff81234567
	tok := TokenText(rt.Word(a))
	dec := strconv.FormatUint(rt.Word(a), 10)
	rt.Hide(0x1e600000)
	for _, c := range []struct{ in, want string }{
		{"f(a=0xffffffff81234567, b=3)", "f(a=" + tok + ", b=3)"},
		{"{p=0xFFFFFFFF81234567}", "{p=" + tok + "}"},
		{"pc ffffffff81234567 ran", "pc " + tok + " ran"},
		{`"raw":` + strconv.FormatUint(a, 10) + `}`, `"raw":` + dec + `}`},
		{"do_sys_openat2+0x19 user 0x7ffe12345678 -100 -ENOENT", "do_sys_openat2+0x19 user 0x7ffe12345678 -100 -ENOENT"},
		{"ERR_PTR(-ENOENT) 0xfffffffffffffffe 18446744073709551614", "ERR_PTR(-ENOENT) 0xfffffffffffffffe 18446744073709551614"},
		{"offset 0x1e600000 (509607936), not 0x1e6000001", "offset <redacted> (<redacted>), not 0x1e6000001"},
		{"sym_ffffffff81234567 x0xffffffff81234567 0xffffffff81234567g", "sym_ffffffff81234567 x0xffffffff81234567 0xffffffff81234567g"},
		{"0x", "0x"}, {"0xffffffffffffffffff", "0xffffffffffffffffff"}, {"", ""},
		{tok, tok},
	} {
		if got := rt.Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWriter(t *testing.T) {
	rt := testTrace(t, 7)
	var b bytes.Buffer
	w := rt.Writer(&b)
	// An address split across writes is still found: lines are held back.
	for _, s := range []string{"a=0xffffff", "ff81234567\nb=0xffff8880", "04114eb0"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(b.String(), "b=") {
		t.Errorf("an unfinished line was written: %q", b.String())
	}
	w.Close()
	want := "a=" + TokenText(rt.Word(0xffffffff81234567)) + "\nb=" + TokenText(rt.Word(0xffff888004114eb0))
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestLoadSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	a, err := LoadSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	b, err := LoadSecret(path)
	if err != nil || a != b {
		t.Fatalf("the key read back differs (%v)", err)
	}
	os.WriteFile(path, []byte("not hex\n"), 0o600)
	if _, err := LoadSecret(path); err == nil || !strings.Contains(err.Error(), "remove the file") {
		t.Fatalf("a bad key file: %v", err)
	}
	if _, err := LoadSecret(filepath.Join(path, "under a file")); err == nil {
		t.Fatalf("a key under a file was written")
	}
}

// FuzzText: Text never panics, is idempotent, and leaves no kernel
// address in hex.
func FuzzText(f *testing.F) {
	for _, s := range []string{"a=0xffffffff81234567", "ffffffff81234567", "18446744071581500775", "0x0x0x", "kptr_0123456789ab", "0xffffffffffffffffffff1"} {
		f.Add(s)
	}
	rt := testTrace(f, 3)
	rt.Hide(0x1e600000)
	hexAddr := regexp.MustCompile(`(?i)(?:^|[^0-9a-z_])(?:0x)?(ffff[89a-f][0-9a-f]{11})(?:$|[^0-9a-z_])`)
	f.Fuzz(func(t *testing.T, s string) {
		got := rt.Text(s)
		if again := rt.Text(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
		for _, m := range hexAddr.FindAllStringSubmatch(got, -1) {
			if v, _ := strconv.ParseUint(m[1], 16, 64); calls.KernelAddress(v) {
				t.Fatalf("kernel address %q left in %q (from %q)", m[1], got, s)
			}
		}
	})
}

// BenchmarkWord: tokens of addresses seen before (the usual case: a
// trace repeats its pointers) and of new ones.
func BenchmarkWord(b *testing.B) {
	rt := testTrace(b, 1)
	b.Run("seen", func(b *testing.B) {
		rt.Word(0xffff888004114eb0)
		for b.Loop() {
			rt.Word(0xffff888004114eb0)
		}
	})
	b.Run("new", func(b *testing.B) {
		w := uint64(0xffff888000000000)
		for b.Loop() {
			w += 8
			rt.Word(w)
		}
	})
}

// BenchmarkText: a line of show's output with three addresses.
func BenchmarkText(b *testing.B) {
	rt := testTrace(b, 1)
	line := "do_filp_open(dfd=-100, pathname={name=0xffff888003c2d000, uptr=0x7ffcb8b86f80, refcnt=0x1, aname=NULL}, op={open_flag=0x8000, mode=0, acc_mode=4}) = {f_count=0x1, f_op=0xffffffff82c3a4c0, f_mapping=0xffff888004a1b2c8, f_flags=0x8000};\n"
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		rt.Text(line)
	}
}
