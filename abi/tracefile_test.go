package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func sampleTrace() *Trace {
	d := uint64(3)
	return &Trace{Meta: Meta{Format: FormatV1, KernelRelease: "6.12.57-kcovdf", KASLROffset: KnownKASLROffset(0x1e00000), BufferWords: 512, Fill: 5, Overflowed: true, Dropped: &d, Command: []string{"cat", "/etc/hostname"}},
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
		t.Run(c.name, func(t *testing.T) {
			tr, err := ParseTrace(c.data, "x.kdf")
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x.kdf: ") {
				t.Errorf("error %v, want a FileError saying %q", err, c.want)
			}
			switch {
			case c.words < 0 && tr != nil && tr.Words != nil:
				t.Errorf("returned words from a broken header")
			case c.words >= 0 && (tr == nil || len(tr.Words) != c.words):
				t.Errorf("kept %v, want %d words", tr, c.words)
			}
		})
	}
}

// metaFile is a trace file whose metadata is the given JSON, around one
// word, with a matching checksum.
func metaFile(meta string) []byte {
	var b bytes.Buffer
	b.WriteString(TraceMagic)
	b.Write([]byte{1, 0, 0, 0, byte(len(meta)), byte(len(meta) >> 8), 0, 0})
	b.WriteString(meta)
	for b.Len()%8 != 0 {
		b.WriteByte(0)
	}
	b.Write([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	return b.Bytes()
}

// TestMetaFields: format and KASLR offset are typed in Go and keep their
// string form in the file, so files written before still load.
func TestMetaFields(t *testing.T) {
	crc := `"crc32c":2351477386`
	cases := []struct {
		name   string
		meta   string
		format Format
		slide  KASLROffset
		err    string
	}{
		{"hex offset", `{"format":"v1","kaslr_offset":"0x1e00000",` + crc + `}`, FormatV1, KnownKASLROffset(0x1e00000), ""},
		{"zero offset", `{"format":"v3","kaslr_offset":"0x0",` + crc + `}`, FormatV3, KnownKASLROffset(0), ""},
		{"no offset", `{"format":"v2",` + crc + `}`, FormatV2, KASLROffset{}, ""},
		{"empty offset", `{"format":"v1","kaslr_offset":"",` + crc + `}`, FormatV1, KASLROffset{}, ""},
		{"auto", `{"format":"auto",` + crc + `}`, FormatAuto, KASLROffset{}, ""},
		{"bad offset", `{"format":"v1","kaslr_offset":"zz",` + crc + `}`, 0, KASLROffset{}, `metadata: KASLR offset "zz" is not a hex number`},
		{"unknown format", `{"format":"v9",` + crc + `}`, 0, KASLROffset{}, `metadata: unknown format "v9"`},
		{"offset not a string", `{"format":"v1","kaslr_offset":5,` + crc + `}`, 0, KASLROffset{}, "metadata: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := ParseTrace(metaFile(c.meta), "m.kdf")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Meta.Format != c.format || tr.Meta.KASLROffset != c.slide {
				t.Fatalf("format %s offset %s, want %s %s", tr.Meta.Format, tr.Meta.KASLROffset, c.format, c.slide)
			}
		})
	}
}

func TestMetaJSON(t *testing.T) {
	cases := []struct {
		name string
		meta Meta
		want []string
		not  []string
	}{
		{"known", Meta{Format: FormatV1, KASLROffset: KnownKASLROffset(0x1e00000)}, []string{`"format":"v1"`, `"kaslr_offset":"0x1e00000"`}, nil},
		{"zero offset is kept", Meta{Format: FormatV3, KASLROffset: KnownKASLROffset(0)}, []string{`"format":"v3"`, `"kaslr_offset":"0x0"`}, nil},
		{"unknown offset is left out", Meta{Format: FormatV2}, []string{`"format":"v2"`}, []string{"kaslr_offset"}},
		{"auto", Meta{}, []string{`"format":"auto"`}, []string{"kaslr_offset"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(&c.meta)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !bytes.Contains(b, []byte(w)) {
					t.Errorf("%s lacks %s", b, w)
				}
			}
			for _, w := range c.not {
				if bytes.Contains(b, []byte(w)) {
					t.Errorf("%s has %s", b, w)
				}
			}
			var back Meta
			if err := json.Unmarshal(b, &back); err != nil || back.Format != c.meta.Format || back.KASLROffset != c.meta.KASLROffset {
				t.Errorf("round trip: %+v, %v", back, err)
			}
		})
	}
	if _, err := json.Marshal(&Meta{Format: Format(9)}); err == nil {
		t.Error("a format without a name was written")
	}
}

func TestParseKASLROffset(t *testing.T) {
	for _, c := range []struct {
		in   string
		want KASLROffset
		str  string
		err  bool
	}{
		{"0x1e00000", KnownKASLROffset(0x1e00000), "0x1e00000", false},
		{"1e00000", KnownKASLROffset(0x1e00000), "0x1e00000", false},
		{"0X10", KnownKASLROffset(0x10), "0x10", false},
		{"", KASLROffset{}, "unknown", false},
		{"0x", KASLROffset{}, "", true},
		{"-1", KASLROffset{}, "", true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseKASLROffset(c.in)
			if (err != nil) != c.err || got != c.want {
				t.Fatalf("ParseKASLROffset(%q) = %v, %v", c.in, got, err)
			}
			if !c.err && got.String() != c.str {
				t.Fatalf("String() = %q, want %q", got.String(), c.str)
			}
		})
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

// TestLoadTraceInPlace: a trace file on disk is mapped and its words read
// in place, damaged or not; unaligned bytes are copied instead.
func TestLoadTraceInPlace(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTrace(&buf, sampleTrace()); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	want := sampleTrace().Words
	dir := t.TempDir()
	cases := []struct {
		name  string
		data  []byte
		words []uint64
		err   string
	}{
		{"whole", good, want, ""},
		{"cut in the words", good[:len(good)-12], want[:4], "file cut short"},
		{"raw dump", bytesOf(want), want, ""},
		{"raw dump with a partial word", append(bytesOf(want), 9), want, "not a whole word"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			tr, err := LoadTrace(path)
			if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
			if !slices.Equal(tr.Words, c.words) {
				t.Fatalf("words %#x, want %#x", tr.Words, c.words)
			}
			if tr.mapped == nil && mapSupported {
				t.Fatal("the words were copied, not read in place")
			}
			if err := tr.Close(); err != nil || tr.Words != nil || tr.mapped != nil {
				t.Fatalf("Close: %v, words %v", err, tr.Words)
			}
			if err := tr.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
	t.Run("empty file", func(t *testing.T) {
		path := filepath.Join(dir, "empty")
		os.WriteFile(path, nil, 0o644)
		tr, err := LoadTrace(path)
		if err == nil || !strings.Contains(err.Error(), "empty file") || tr == nil || len(tr.Words) != 0 {
			t.Fatalf("%v %v", tr, err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := LoadTrace(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("error %v", err)
		}
	})
}

// TestParseTraceUnaligned: bytes that are not 8-byte aligned are copied
// into words, whatever the caller asked.
func TestParseTraceUnaligned(t *testing.T) {
	var buf bytes.Buffer
	WriteTrace(&buf, sampleTrace())
	shifted := make([]byte, buf.Len()+1)
	copy(shifted[1:], buf.Bytes())
	for _, inPlace := range []bool{false, true} {
		tr, viewed, err := parseTrace(shifted[1:], "u.kdf", inPlace)
		if err != nil || viewed || !slices.Equal(tr.Words, sampleTrace().Words) {
			t.Fatalf("inPlace %v: viewed %v err %v words %#x", inPlace, viewed, err, tr.Words)
		}
	}
	data := buf.Bytes()
	tr, viewed, err := parseTrace(data, "a.kdf", true)
	if err != nil || !viewed {
		t.Fatalf("aligned bytes not read in place: viewed %v err %v", viewed, err)
	}
	data[len(data)-1] = 0x80 // the last word's top byte
	if last := tr.Words[len(tr.Words)-1]; last != 0x80<<56 {
		t.Fatalf("the words do not alias the bytes: last word %#x", last)
	}
}

func kcovTrace() *Trace {
	t := sampleTrace()
	t.Meta.Kcov = &KcovMeta{Count: 4, BufferWords: 1024}
	t.KcovPCs = []uint64{0xffffffff811a2485, 0xffffffff811a24c0, 0xffffffff811a2485, 0xffffffff8112cefc}
	return t
}

func TestTraceFileKcovRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTrace(&buf, kcovTrace()); err != nil {
		t.Fatal(err)
	}
	tr, err := ParseTrace(buf.Bytes(), "k.kdf")
	if err != nil {
		t.Fatal(err)
	}
	want := kcovTrace()
	if !slices.Equal(tr.Words, want.Words) || !slices.Equal(tr.KcovPCs, want.KcovPCs) {
		t.Fatalf("round trip: words %x pcs %x", tr.Words, tr.KcovPCs)
	}
	if k := tr.Meta.Kcov; k == nil || k.PCs != 4 || k.Count != 4 || k.BufferWords != 1024 || k.Overflowed() {
		t.Fatalf("kcov metadata %+v", tr.Meta.Kcov)
	}
	// Kcov on and nothing collected is a section of no PCs, not no section.
	empty := sampleTrace()
	empty.Meta.Kcov = &KcovMeta{BufferWords: 8}
	buf.Reset()
	WriteTrace(&buf, empty)
	if tr, err := ParseTrace(buf.Bytes(), "e.kdf"); err != nil || tr.Meta.Kcov == nil || len(tr.KcovPCs) != 0 {
		t.Fatalf("empty section: %v %+v", err, tr)
	}
	// A full kcov buffer counts more than it stores.
	full := kcovTrace()
	full.Meta.Kcov.Count = 9
	buf.Reset()
	WriteTrace(&buf, full)
	if tr, err := ParseTrace(buf.Bytes(), "f.kdf"); err != nil || !tr.Meta.Kcov.Overflowed() {
		t.Fatalf("overflowed: %v %+v", err, tr.Meta.Kcov)
	}
}

// TestTraceFileOldReaders: a file without the section reads as before,
// and the section adds nothing to the words or their checksum.
func TestTraceFileKcovOldFiles(t *testing.T) {
	var plain, withKcov bytes.Buffer
	WriteTrace(&plain, sampleTrace())
	WriteTrace(&withKcov, kcovTrace())
	tr, err := ParseTrace(plain.Bytes(), "old.kdf")
	if err != nil || tr.Meta.Kcov != nil || tr.KcovPCs != nil {
		t.Fatalf("old file: %v kcov %+v %v", err, tr.Meta.Kcov, tr.KcovPCs)
	}
	if bytes.Contains(plain.Bytes(), []byte(`"kcov"`)) {
		t.Fatal("a file without kcov announces a section")
	}
	tk, _ := ParseTrace(withKcov.Bytes(), "new.kdf")
	if tk.Meta.CRC32C != tr.Meta.CRC32C {
		t.Fatal("the words' checksum depends on the section")
	}
}

func TestTraceFileKcovDamage(t *testing.T) {
	var buf bytes.Buffer
	WriteTrace(&buf, kcovTrace())
	good := buf.Bytes()
	sec := len(good) - 16 - 8*4 // the section's magic
	cases := []struct {
		name       string
		data       []byte
		words, pcs int
		want       string
	}{
		{"cut in the pcs", good[:len(good)-12], 6, 2, "cut short: 4 PCs announced, 2 present"},
		{"cut in the section header", good[:sec+10], 6, 0, "classic kcov section: missing or cut short"},
		{"section missing", good[:sec], 6, 0, "classic kcov section: missing"},
		{"cut in the words", good[:sec-4], 5, 0, "the classic kcov section after them is lost"},
		{"bad magic", func() []byte { b := slices.Clone(good); b[sec] = 'X'; return b }(), 6, 0, `does not start with "KCOVPCS"`},
		{"flipped pc bit", func() []byte { b := slices.Clone(good); b[sec+16+8] ^= 4; return b }(), 6, 4, "the PCs were altered"},
		{"count differs from metadata", func() []byte { b := slices.Clone(good)[:len(good)-8]; b[sec+8] = 3; return b }(), 6, 3, "3 PCs, the metadata says 4"},
		{"trailing data", append(slices.Clone(good), 1, 2, 3, 4, 5, 6, 7, 8, 9), 6, 4, "9 bytes of trailing data after the 6 words and the classic kcov section"},
		{"words altered too", func() []byte { b := slices.Clone(good); b[sec-8] ^= 1; b[sec+16] ^= 1; return b }(), 6, 4, "the words were altered"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := ParseTrace(c.data, "k.kdf")
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "k.kdf: ") {
				t.Errorf("error %v, want a FileError saying %q", err, c.want)
			}
			if tr == nil || len(tr.Words) != c.words || len(tr.KcovPCs) != c.pcs {
				t.Fatalf("kept %+v, want %d words and %d PCs", tr, c.words, c.pcs)
			}
			if !slices.Equal(tr.KcovPCs, kcovTrace().KcovPCs[:c.pcs]) && !strings.Contains(c.name, "flipped") && !strings.Contains(c.name, "altered") {
				t.Errorf("PCs %x are not the good ones", tr.KcovPCs)
			}
		})
	}
}

// TestModuleSections: section addresses are typed in Go and stay hex
// strings in the file, as sysfs shows them and earlier files hold them.
func TestModuleSections(t *testing.T) {
	const file = `{"name":"fixture","sections":{".text":"0xffffffffc0a00000",".text.unlikely":"ffffffffc0a08000"}}`
	var m Module
	if err := json.Unmarshal([]byte(file), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{".text": 0xffffffffc0a00000, ".text.unlikely": 0xffffffffc0a08000}
	if got := m.SectionAddrs(); len(got) != 2 || got[".text"] != want[".text"] || got[".text.unlikely"] != want[".text.unlikely"] {
		t.Fatalf("sections %v, want %v", got, want)
	}
	b, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"name":"fixture","sections":{".text":"0xffffffffc0a00000",".text.unlikely":"0xffffffffc0a08000"}}` {
		t.Fatalf("written back as %s", b)
	}
	for _, bad := range []string{`"zz"`, `""`, `"0x"`, `"0x1ffffffffffffffff"`, `5`} {
		t.Run(bad, func(t *testing.T) {
			if err := json.Unmarshal([]byte(`{"name":"m","sections":{".text":`+bad+`}}`), &m); err == nil {
				t.Errorf("section address %s accepted", bad)
			}
		})
	}
}

// followTrace is a follow-mode capture: followSeed's chunks, marked so.
func followTrace() *Trace {
	area := followSeed()
	return &Trace{Meta: Meta{Format: FormatV1, BufferWords: len(area), Fill: area[0], Follow: &FollowMeta{ChunkWords: 64}}, Words: area}
}

// The follow key round-trips and reads as the chunk size; a file without
// it (every file before the mode) has none.
func TestTraceFileFollowRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTrace(&buf, followTrace()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"follow":{"chunk_words":64}`)) {
		t.Fatalf("metadata %q lacks the follow key", buf.Bytes()[16:200])
	}
	tr, err := ParseTrace(buf.Bytes(), "f.kdf")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Meta.Follow == nil || tr.Meta.Follow.ChunkWords != 64 || !slices.Equal(tr.Words, followSeed()) {
		t.Fatalf("read back %+v", tr.Meta.Follow)
	}
	ft, err := DecodeFollowChunks(tr.Words, tr.Meta.Follow.ChunkWords, Options{})
	if err != nil || len(ft.Tasks) != 2 || len(ft.Anomalies) != 0 {
		t.Fatalf("decoded %+v, %v", ft, err)
	}
	buf.Reset()
	WriteTrace(&buf, sampleTrace())
	if bytes.Contains(buf.Bytes(), []byte("follow")) {
		t.Fatal("a single-task trace names the follow key")
	}
	if tr, err := ParseTrace(buf.Bytes(), "t.kdf"); err != nil || tr.Meta.Follow != nil {
		t.Fatalf("single-task trace: follow %+v, %v", tr.Meta.Follow, err)
	}
}

// A follow-mode capture stored up to its last chunk reads back with the
// chunks past the file's end as never taken, not as a full buffer.
func TestFollowAreaPadsToTheBuffer(t *testing.T) {
	words := followSeed()
	tr := &Trace{Meta: Meta{BufferWords: len(words) + 4*64, Follow: &FollowMeta{ChunkWords: 64}}, Words: words}
	area := tr.FollowArea()
	if len(area) != tr.Meta.BufferWords || !slices.Equal(area[:len(words)], words) || slices.ContainsFunc(area[len(words):], func(w uint64) bool { return w != 0 }) {
		t.Fatalf("padded area of %d words, want %d: the words, then zeros", len(area), tr.Meta.BufferWords)
	}
	short, err := DecodeFollowChunks(words, 64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	padded, err := DecodeFollowChunks(area, 64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !short.Full || padded.Carved != short.Carved || padded.Slots != short.Slots+4 || padded.Full || len(padded.Tasks) != len(short.Tasks) {
		t.Fatalf("padded: %d of %d chunks, full %v; stored: %d of %d", padded.Carved, padded.Slots, padded.Full, short.Carved, short.Slots)
	}
	// A single-task trace, or one as long as its buffer, is read as it is.
	if v1 := (&Trace{Meta: Meta{BufferWords: 100}, Words: words}); &v1.FollowArea()[0] != &words[0] {
		t.Fatal("a v1 trace's words were copied")
	}
}
