package signal

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

// FuzzParse: any bytes give a signal or an error, never a panic; what
// parses encodes back to a signal that parses the same.
func FuzzParse(f *testing.F) {
	b, _ := FromFeatures(1, 300, 1<<40, ^Feature(0)).MarshalBinary()
	j, _ := FromFeatures(1, 5).MarshalJSON()
	f.Add(b)
	f.Add(j)
	f.Add([]byte(binaryMagic + "\x01\x00"))
	f.Add([]byte(`{"format":"kcovdf-signal","version":1,"features":["0x3","0x1","0x3"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if !slices.IsSorted(s.Features()) || len(slices.Compact(slices.Clone(s.Features()))) != s.Len() {
			t.Fatalf("parsed signal not a sorted set")
		}
		enc, _ := s.MarshalBinary()
		back, err := Parse(enc)
		if err != nil || !back.Equal(s) {
			t.Fatalf("re-encoded signal: %v", err)
		}
	})
}

// FuzzExtract: arbitrary words, decoded as the CLI does without a layout
// and also taken as records directly, give well-formed features.
func FuzzExtract(f *testing.F) {
	seed := []uint64{0}
	seed = abi.EncodeV1(seed, &abi.Record{Kind: abi.KindEntry, Seq: 1, PC: testPC, ArgIdx: 2, Size: 8, Ptr: 0xffff888000bbfed0, Values: []uint64{0x8000, 0, abi.BadAddr}})
	seed = abi.EncodeV1(seed, &abi.Record{Kind: abi.KindReturn, Seq: 2, PC: testPC, Size: 8, Values: []uint64{^uint64(1)}})
	seed[0] = uint64(len(seed) - 1)
	f.Add(wordsToBytes(seed), true)
	f.Add([]byte{1, 2, 3}, false)
	f.Fuzz(func(t *testing.T, data []byte, relations bool) {
		words := make([]uint64, len(data)/8)
		for i := range words {
			words[i] = binary.LittleEndian.Uint64(data[8*i:])
		}
		opt := Options{Relations: relations, MaxPerSlot: 4, Slide: 0x1000}
		var rs []abi.Record
		if len(words) > 0 {
			d := abi.NewDecoder(words, abi.Options{Format: abi.DetectFormat(words)})
			for d.Next() {
				rs = append(rs, *d.Record())
			}
		}
		// The words as records of their own: kind, pc, meta, values.
		for i := 0; i+3 < len(words); i += 4 {
			rs = append(rs, abi.Record{Kind: abi.Kind(words[i] & 0xf), PC: words[i+1], ArgIdx: uint8(words[i+2]), Size: uint8(words[i+2] >> 8), Ptr: words[i+2], Values: words[i+3 : min(len(words), i+3+int(words[i]>>60))]})
		}
		e := NewExtractor(opt)
		e.AddRecords(rs)
		s := e.Signal()
		if want := reference(rs, opt); !s.Equal(want) {
			t.Fatalf("%d features, the reference %d", s.Len(), want.Len())
		}
		perSlot := map[Slot]int{}
		for _, f := range s.Features() {
			if f.Class() >= numClasses || f.Slot().Field() >= DefaultMaxFields {
				t.Fatalf("malformed feature %v", f)
			}
			if perSlot[f.Slot()]++; perSlot[f.Slot()] > 4 {
				t.Fatalf("slot %v over its bound", f.Slot())
			}
		}
		if s.Len() != e.Len() || !slices.IsSorted(s.Features()) {
			t.Fatalf("signal of %d features, extractor counted %d", s.Len(), e.Len())
		}
	})
}

func wordsToBytes(ws []uint64) []byte {
	b := make([]byte, 8*len(ws))
	for i, w := range ws {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	return b
}
