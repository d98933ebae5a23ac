package abi

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func sampleTrace() *Trace {
	d := uint64(3)
	return &Trace{Meta: Meta{Format: "v1", KernelRelease: "6.12.57-kcovdf", KASLROffset: "0x1e00000", BufferWords: 512, Fill: 5, Overflowed: true, Dropped: &d, Command: []string{"cat", "/etc/hostname"}},
		Words: []uint64{5, V1Header(KindEntry, 1), tpc, V1Meta(KindEntry, 0, 4, 0xffffc90000001000), 3, 0}}
}

func TestTraceFileRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTrace(&buf, sampleTrace()); err != nil {
		t.Fatal(err)
	}
	tr, err := ParseTrace(buf.Bytes(), "t.kdf")
	if err != nil {
		t.Fatal(err)
	}
	want := sampleTrace()
	if tr.Raw || !slices.Equal(tr.Words, want.Words) || tr.Meta.KernelRelease != want.Meta.KernelRelease || *tr.Meta.Dropped != 3 || !slices.Equal(tr.Meta.Command, want.Meta.Command) {
		t.Fatalf("round trip: %+v", tr)
	}
	if s, ok := tr.Meta.Slide(); !ok || s != 0x1e00000 {
		t.Fatalf("slide %#x %v", s, ok)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(TraceMagic)) || (buf.Len()-8*len(want.Words))%8 != 0 {
		t.Fatal("words are not 8-byte aligned in the file")
	}
}

func TestTraceFileDamage(t *testing.T) {
	var buf bytes.Buffer
	WriteTrace(&buf, sampleTrace())
	good := buf.Bytes()
	wordsAt := len(good) - 8*6
	cases := []struct {
		name  string
		data  []byte
		words int // words kept, -1: no trace
		want  string
	}{
		{"cut in the words", good[:len(good)-12], 4, "word 4 (byte"},
		{"cut in the header", good[:10], -1, "header cut short"},
		{"cut before the count", good[:wordsAt-4], 0, "word count missing"},
		{"flipped bit", func() []byte { b := slices.Clone(good); b[wordsAt+8*2] ^= 1; return b }(), 6, "checksum"},
		{"trailing bytes", append(slices.Clone(good), 1, 2, 3), 6, "trailing"},
		{"newer version", func() []byte { b := slices.Clone(good); b[8] = 9; return b }(), -1, "version 9"},
		{"huge metadata length", func() []byte { b := slices.Clone(good); b[15] = 0x7f; return b }(), -1, "does not fit"},
		{"bad json", func() []byte { b := slices.Clone(good); b[16] = '['; return b }(), -1, "not valid JSON"},
		{"raw dump with a partial word", []byte{1, 0, 0, 0, 0, 0, 0, 0, 7, 7}, 1, "not a whole word"},
		{"empty file", nil, 0, "empty file"},
	}
	for _, c := range cases {
		tr, err := ParseTrace(c.data, "x.kdf")
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x.kdf: ") {
			t.Errorf("%s: error %v, want a FileError saying %q", c.name, err, c.want)
		}
		switch {
		case c.words < 0 && tr != nil && tr.Words != nil:
			t.Errorf("%s: returned words from a broken header", c.name)
		case c.words >= 0 && (tr == nil || len(tr.Words) != c.words):
			t.Errorf("%s: kept %v, want %d words", c.name, tr, c.words)
		}
	}
}

func TestRawDump(t *testing.T) {
	area := v1([4]int{int(KindEntry), 1, 0, 1})
	var b []byte
	for _, w := range area {
		for i := range 8 {
			b = append(b, byte(w>>(8*i)))
		}
	}
	tr, err := ParseTrace(b, "area.bin")
	if err != nil || !tr.Raw || !slices.Equal(tr.Words, area) || tr.Meta.Fill != 4 {
		t.Fatalf("raw dump: %v %+v", err, tr)
	}
}
