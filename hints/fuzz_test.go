package hints

import (
	"encoding/binary"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/bitwidth"
)

// FuzzHints: arbitrary words, decoded as the CLI does without a layout
// and also taken as records directly, observed in two runs (the second
// the first half only), give hints within their bounds and never a panic.
func FuzzHints(f *testing.F) {
	seed := []uint64{0}
	seed = abi.EncodeV1(seed, &abi.Record{Kind: abi.KindEntry, Seq: 1, PC: pc, ArgIdx: 2, Size: 8, Ptr: 0xffff888000bbfed0, Values: []uint64{0x8041, 0, abi.BadAddr}})
	seed = abi.EncodeV1(seed, &abi.Record{Kind: abi.KindReturn, Seq: 2, PC: pc, Size: 8, Values: []uint64{^uint64(1)}})
	seed[0] = uint64(len(seed) - 1)
	b := make([]byte, 8*len(seed))
	for i, w := range seed {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	f.Add(b, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, maxPerPC uint8) {
		words := make([]uint64, len(data)/8)
		for i := range words {
			words[i] = binary.LittleEndian.Uint64(data[8*i:])
		}
		opt := Options{MaxPerPC: int(maxPerPC), MaxValuesPerSlot: 4}
		observe := func(ws []uint64) *Run {
			o := NewObserver(opt)
			if len(ws) > 0 {
				d := abi.NewDecoder(ws, abi.Options{Format: abi.DetectFormat(ws)})
				for d.Next() {
					o.Add(d.Record())
				}
			}
			for i := 0; i+3 < len(ws); i += 4 {
				r := abi.Record{Kind: abi.Kind(ws[i] & 0xf), PC: ws[i+1], ArgIdx: uint8(ws[i+2]), Size: uint8(ws[i+2] >> 8), Ptr: ws[i+2], Values: ws[i+3 : min(len(ws), i+3+int(ws[i]>>60))]}
				o.Add(&r)
			}
			return o.Run()
		}
		a, b := observe(words), observe(words[:len(words)/2])
		h, err := Stable(opt, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if h.Stable > b.Pairs() || h.Stable > a.Pairs() {
			t.Fatalf("%d stable of %d and %d", h.Stable, a.Pairs(), b.Pairs())
		}
		max := opt.MaxPerPC
		if max == 0 {
			max = DefaultMaxPerPC
		}
		for _, f := range h.Funcs {
			n := 0
			for _, s := range f.Args {
				n += len(s.Candidates)
				if len(s.Values) > 4 || s.Width < 1 || s.Width > 8 {
					t.Fatalf("slot %+v", s)
				}
				for _, c := range s.Candidates {
					if special(c&bitwidth.Mask(uint(s.Width)), s.Width) && special(c, 8) {
						t.Fatalf("special candidate %#x", c)
					}
				}
			}
			if n > max {
				t.Fatalf("%d candidates for %#x, cap %d", n, f.PC, max)
			}
		}
	})
}
