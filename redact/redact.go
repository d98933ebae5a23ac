package redact

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
)

// Secret keys the tokens of every trace redacted with it. Without it a
// reader cannot tell which address a token stands for: with a key known
// to all (say, one derived from the trace's checksum) the few hundred
// KASLR offsets a kernel may have could be tried one by one.
type Secret [32]byte

// NewSecret returns a random secret: tokens then agree within one run of
// kcovdf only.
func NewSecret() (Secret, error) {
	var s Secret
	_, err := rand.Read(s[:])
	return s, err
}

// LoadSecret reads a secret kept in a file (64 hex digits), writing a new
// random one there first when the file does not exist, so that several
// runs (show, then export) give the same tokens.
func LoadSecret(path string) (Secret, error) {
	var s Secret
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if s, err = NewSecret(); err != nil {
			return s, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return s, fmt.Errorf("redaction key: %w", err)
		}
		_, err = fmt.Fprintln(f, hex.EncodeToString(s[:]))
		return s, errors.Join(err, f.Close())
	}
	if err != nil {
		return s, fmt.Errorf("redaction key: %w", err)
	}
	d, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(d) != len(s) {
		return s, fmt.Errorf("redaction key %s: want %d hex digits on one line (remove the file to get a new key)", path, 2*len(s))
	}
	copy(s[:], d)
	return s, nil
}

// TokenBase marks a token word: its top 16 bits ("kp"). Such words are
// neither user-space nor kernel addresses.
const TokenBase = 0x6b70 << 48

const tokenPrefix = "kptr_"

// IsToken tells whether w is a token word.
func IsToken(w uint64) bool { return w>>48 == TokenBase>>48 }

// TokenText is the text of a token word: "kptr_" and its low 48 bits in hex.
func TokenText(w uint64) string {
	return fmt.Sprintf("%s%012x", tokenPrefix, w&(1<<48-1))
}

// ParseToken reads a token in either form: kptr_1a2b3c4d5e6f or its word
// (0x6b701a2b3c4d5e6f).
func ParseToken(s string) (uint64, bool) {
	if d, ok := strings.CutPrefix(s, tokenPrefix); ok {
		if len(d) != 12 {
			return 0, false
		}
		v, err := strconv.ParseUint(d, 16, 64)
		return TokenBase | v, err == nil
	}
	v, err := strconv.ParseUint(s, 0, 64)
	return v, err == nil && IsToken(v)
}

// Trace redacts the values of one trace. It is not safe for concurrent
// use.
type Trace struct {
	mac    hash.Hash
	sum    []byte
	tokens map[uint64]uint64
	hidden []uint64
}

// Trace returns the redactor of the trace with the given ID (the export
// package's task ID): its key is derived from the secret and the ID, so
// that tokens differ between traces and agree between runs with the same
// secret.
func (s *Secret) Trace(id int64) *Trace {
	m := hmac.New(sha256.New, s[:])
	m.Write([]byte("kcovdf redact v1\x00"))
	m.Write(binary.LittleEndian.AppendUint64(nil, uint64(id)))
	return &Trace{mac: hmac.New(sha256.New, m.Sum(nil)), tokens: map[uint64]uint64{}}
}

// Word returns the token word of kernel address w, and other words as
// they are.
func (t *Trace) Word(w uint64) uint64 {
	if !calls.KernelAddress(w) {
		return w
	}
	if tok, ok := t.tokens[w]; ok {
		return tok
	}
	t.mac.Reset()
	t.mac.Write(binary.LittleEndian.AppendUint64(nil, w))
	t.sum = t.mac.Sum(t.sum[:0])
	tok := TokenBase | uint64(t.sum[0])<<40 | uint64(t.sum[1])<<32 | uint64(binary.BigEndian.Uint32(t.sum[2:6]))
	t.tokens[w] = tok
	return tok
}

// Token returns the word and the text that stand for kernel address w
// (calls.Redactor).
func (t *Trace) Token(w uint64) (uint64, string) {
	tok := t.Word(w)
	return tok, TokenText(tok)
}

// Hide asks Text to blank out v wherever it appears as a number (in hex
// or decimal): for values that are no addresses but give one away, such as
// the KASLR offset in a note.
func (t *Trace) Hide(v uint64) {
	if v != 0 {
		t.hidden = append(t.hidden, v)
	}
}

// Hidden is what Text writes in place of a hidden value.
const Hidden = "<redacted>"

// Text replaces the numbers in s that are kernel addresses with their
// tokens: hex (0xffffffff81234567, and bare runs of 16 hex digits) and
// unsigned decimal (18446744071578845543, as JSON writes a raw word, which
// becomes the token word in decimal so that JSON stays JSON). Negative
// decimals are left alone: they are signed integers, which the calls
// package redacts by their type. Values given to Hide become "<redacted>".
func (t *Trace) Text(s string) string {
	var b []byte // nil until something is replaced
	last := 0
	for i := 0; i < len(s); {
		if i > 0 && isWordByte(s[i-1]) || !isDigit(s[i]) && !isHex(s[i]) {
			i++
			continue
		}
		j, v, isHexNum, ok := number(s, i)
		if j == i {
			i++
			continue
		}
		if j < len(s) && isWordByte(s[j]) {
			i = j
			continue
		}
		var rep string
		switch {
		case !ok:
		case calls.KernelAddress(v) && isHexNum:
			rep = TokenText(t.Word(v))
		case calls.KernelAddress(v):
			rep = strconv.FormatUint(t.Word(v), 10)
		case t.hide(v) && (isHexNum || v >= 1<<16):
			rep = Hidden
		}
		if rep != "" {
			b = append(b, s[last:i]...)
			b = append(b, rep...)
			last = j
		}
		i = j
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

func (t *Trace) hide(v uint64) bool {
	for _, h := range t.hidden {
		if h == v {
			return true
		}
	}
	return false
}

// number reads the number at s[i:]: 0x and hex digits, a bare run of 16
// hex digits, or decimal digits; j is where it ends (i when there is
// none), ok false when it does not fit 64 bits.
func number(s string, i int) (j int, v uint64, isHexNum, ok bool) {
	if strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X") {
		j = i + 2
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j == i+2 {
			return i + 1, 0, false, false
		}
		v, err := strconv.ParseUint(s[i+2:j], 16, 64)
		return j, v, true, err == nil
	}
	j = i
	digits := true
	for j < len(s) && isHex(s[j]) {
		digits = digits && isDigit(s[j])
		j++
	}
	switch {
	case digits:
		v, err := strconv.ParseUint(s[i:j], 10, 64)
		return j, v, false, err == nil
	case j-i == 16:
		v, err := strconv.ParseUint(s[i:j], 16, 64)
		return j, v, true, err == nil
	}
	return j, 0, false, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
func isWordByte(c byte) bool {
	return isHex(c) || 'g' <= c && c <= 'z' || 'G' <= c && c <= 'Z' || c == '_'
}

// Meta returns a copy of m without the addresses it holds: the KASLR
// offset is left out (and hidden from Text) and the modules' section
// addresses become tokens.
func (t *Trace) Meta(m *abi.Meta) *abi.Meta {
	if m == nil {
		return nil
	}
	c := *m
	if off, ok := m.Slide(); ok {
		t.Hide(off)
	}
	c.KASLROffset = abi.KASLROffset{}
	c.Modules = make([]abi.Module, len(m.Modules))
	for i, mod := range m.Modules {
		c.Modules[i] = abi.Module{Name: mod.Name, Sections: map[string]abi.Addr{}}
		for k, v := range mod.Sections {
			c.Modules[i].Sections[k] = abi.Addr(t.Word(uint64(v)))
		}
	}
	return &c
}

// Writer returns a writer that passes what is written to w line by line
// through Text. Close writes out a last line without its newline; it does
// not close w.
func (t *Trace) Writer(w io.Writer) io.WriteCloser {
	return &writer{t: t, w: bufio.NewWriterSize(w, 1<<16)}
}

type writer struct {
	t    *Trace
	w    *bufio.Writer
	line []byte
}

func (w *writer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.line = append(w.line, p...)
			break
		}
		w.line = append(w.line, p[:i+1]...)
		p = p[i+1:]
		if _, err := w.w.WriteString(w.t.Text(string(w.line))); err != nil {
			return 0, err
		}
		w.line = w.line[:0]
	}
	// Flushed at every write, so that what is printed shows up in order
	// with what other writers print; the lines are held back, not bytes.
	return n, w.w.Flush()
}

func (w *writer) Close() error {
	if len(w.line) > 0 {
		if _, err := w.w.WriteString(w.t.Text(string(w.line))); err != nil {
			return err
		}
		w.line = w.line[:0]
	}
	return w.w.Flush()
}
