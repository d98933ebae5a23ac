package abi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

func wordsOf(b []byte) []uint64 {
	w := make([]uint64, len(b)/8)
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return w
}

func bytesOf(w []uint64) []byte {
	b := make([]byte, 8*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

// FuzzDecode feeds arbitrary areas to every decoder: no panic, records
// in order and inside the counted words, and every word either in a
// record or reported.
func FuzzDecode(f *testing.F) {
	E, F := int(KindEntry), int(KindReturn)
	f.Add(bytesOf(v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 1, 3}, [4]int{F, 3, 0, 1})))
	f.Add(bytesOf(v1([4]int{E, 1, 0, 1}, [4]int{E, 9, 1, 3})))
	f.Add(bytesOf(EncodeV2([]uint64{20}, &Record{Kind: KindEntry, Seq: 1, PC: tpc, Values: make([]uint64, 17)})))
	f.Add(bytesOf(EncodeV3([]uint64{5}, &Record{Kind: KindCompare, Seq: 1, PC: tpc, Values: []uint64{1, 2}})))
	f.Add([]byte{})
	table := NewTable(4)
	table.Set(tpc, KindEntry, 0, 4)
	table.Set(tpc, KindEntry, 1, 6)
	table.Set(tpc, KindReturn, 0, 4)
	f.Fuzz(func(t *testing.T, b []byte) {
		area := wordsOf(b)
		for _, opt := range []Options{{Format: FormatV1}, {Format: FormatV1, Table: table, BufferWords: len(area)}, {Format: FormatV2}, {Format: FormatV3}, {}} {
			d := NewDecoder(area, opt)
			last, words := 0, 0
			for d.Next() {
				r := d.Record()
				if r.Offset <= last-1 || r.Offset < 1 || r.Offset+r.Words() > len(area) {
					t.Fatalf("%s: record at %d (%d words) out of order or outside %d words", opt.Format, r.Offset, r.Words(), len(area))
				}
				last = r.Offset + r.Words()
				words += r.Words()
			}
			s := d.Summary()
			counted := 0
			if len(area) > 0 {
				counted = int(min(area[0], uint64(len(area)-1)))
			}
			if words != s.RecordWords || s.RecordWords+s.Unattributed > counted {
				t.Fatalf("%s: %d record words (summary %d) + %d unattributed > %d counted", opt.Format, words, s.RecordWords, s.Unattributed, counted)
			}
			if err := sameAsGeneralPath(area, opt); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzParseTrace: damaged files give an error or a trace, never a panic,
// and whatever is returned is consistent.
func FuzzParseTrace(f *testing.F) {
	var buf bytes.Buffer
	WriteTrace(&buf, sampleTrace())
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:30])
	buf.Reset()
	WriteTrace(&buf, kcovTrace())
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()-20])
	f.Add([]byte(TraceMagic + "\x01\x00\x00\x00\x02\x00\x00\x00{}"))
	f.Add(bytesOf([]uint64{4, V1Header(KindEntry, 1), tpc, 0, 1}))
	buf.Reset()
	WriteTrace(&buf, followTrace())
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()-100])
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTrace(b, "fuzz")
		if tr != nil && tr.Meta.Follow != nil {
			// Whatever chunk size the metadata claims: a trace or an error.
			if ft, ferr := DecodeFollowChunks(tr.FollowArea(), tr.Meta.Follow.ChunkWords, Options{}); ft == nil && ferr == nil {
				t.Fatal("no follow trace and no error")
			}
		}
		if err == nil && tr == nil {
			t.Fatal("no trace and no error")
		}
		if tr != nil && (len(tr.Words)+len(tr.KcovPCs))*8 > len(b) {
			t.Fatalf("%d words and %d PCs from %d bytes", len(tr.Words), len(tr.KcovPCs), len(b))
		}
		if tr != nil && tr.KcovPCs != nil && tr.Meta.Kcov == nil {
			t.Fatal("PCs from a file that announces no kcov section")
		}
		// Read in place (as LoadTrace does), the same trace and error.
		in, _, err2 := parseTrace(b, "fuzz", true)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || (tr == nil) != (in == nil) || (tr != nil && (!slices.Equal(tr.Words, in.Words) || !slices.Equal(tr.KcovPCs, in.KcovPCs))) {
			t.Fatalf("in place: %v, %v; copied: %v, %v", in, err2, tr, err)
		}
	})
}

// FuzzReadLayout: any text gives a layout or an error naming the line.
func FuzzReadLayout(f *testing.F) {
	f.Add([]byte(`{"func":"vfs_read","args":[{"idx":0,"size":8,"fields":[{"off":0,"size":4}]}],"ret":{"size":8,"fields":[]}}`))
	f.Add([]byte("# comment\n\n{\"func\":\"f\",\"pc\":\"0xffffffff81000000\",\"args\":[]}\n"))
	f.Add([]byte(`{"func":"x","args":[{"idx":300}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ReadLayout(bytes.NewReader(b), "fuzz.jsonl")
		if l == nil {
			t.Fatal("nil layout")
		}
		if err != nil && !bytes.HasPrefix([]byte(err.Error()), []byte("fuzz.jsonl:")) {
			t.Fatalf("error does not name the file: %v", err)
		}
		table, _ := TableFromLayout(l, 0)
		l.Addresses(func(pc uint64, fn *FuncShape) {
			for _, a := range fn.Args {
				if n := table.RecordLen(pc, KindEntry, uint8(a.Idx)); n < HeaderWords+1 {
					t.Fatalf("length %d for %s arg %d", n, fn.Func, a.Idx)
				}
			}
		})
	})
}

// sameAsGeneralPath decodes area with the fast paths and with the general
// path alone: records and summaries must be the same.
func sameAsGeneralPath(area []uint64, opt Options) error {
	fast, slow := NewDecoder(area, opt), NewDecoder(area, opt)
	slow.slow = true
	for i := 0; ; i++ {
		f, s := fast.Next(), slow.Next()
		if f != s {
			return fmt.Errorf("%s: record %d: fast path Next %v, general path %v", fast.opt.Format, i, f, s)
		}
		if !f {
			break
		}
		if a, b := fast.Record(), slow.Record(); !reflect.DeepEqual(a, b) {
			return fmt.Errorf("%s: record %d: fast path %v at %d, general path %v at %d", fast.opt.Format, i, a, a.Offset, b, b.Offset)
		}
	}
	if a, b := fast.Summary(), slow.Summary(); !reflect.DeepEqual(a, b) {
		return fmt.Errorf("%s: summaries differ:\nfast    %+v\ngeneral %+v", fast.opt.Format, a, b)
	}
	return nil
}

// FuzzMetaValues: the small typed values of trace metadata parse any
// text without a panic, and what they parse prints back to itself.
func FuzzMetaValues(f *testing.F) {
	for _, s := range []string{"0x1e00000", "1e00000", "0X10", "", "0x", "-1", "v1", "auto", "3", "v9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := ParseKASLROffset(s); err == nil && k.Known {
			b, err := k.MarshalText()
			var back KASLROffset
			if err != nil || back.UnmarshalText(b) != nil || back != k {
				t.Fatalf("%q: %v printed as %q reads back as %v", s, k, b, back)
			}
		} else if err == nil && k != (KASLROffset{}) {
			t.Fatalf("%q: unknown offset with a value: %+v", s, k)
		}
		if fm, err := ParseFormat(s); err == nil {
			if back, err := ParseFormat(fm.String()); err != nil || back != fm {
				t.Fatalf("%q: format %v reads back as %v, %v", s, fm, back, err)
			}
		}
		var m Meta
		q, _ := json.Marshal(s)
		meta := `{"format":` + string(q) + `,"kaslr_offset":` + string(q) + `}`
		if err := json.Unmarshal([]byte(meta), &m); err == nil {
			if _, err := json.Marshal(&m); err != nil {
				t.Fatalf("%s reads but does not write: %v", meta, err)
			}
		}
	})
}
