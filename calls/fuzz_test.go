package calls

import (
	"encoding/binary"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
)

// FuzzBuild: any decoded buffer gives a well-formed tree (pre-order,
// parents before children), the same one at a time from Stream, and
// renders without panicking.
func FuzzBuild(f *testing.F) {
	seed := func(recs []rec) []byte {
		w := v2area(recs)
		b := make([]byte, 8*len(w))
		for i, x := range w {
			binary.LittleEndian.PutUint64(b[8*i:], x)
		}
		return b
	}
	f.Add(seed([]rec{E(A, 0, 4, 1), E(A, 1, 8, 2), E(B, 0, 0, 0), R(B, 0, 0), R(A, 8, 5)}), uint8(2))
	f.Add(seed([]rec{E(A, 0, 4, 1), R(C, 4, ^uint64(1)), E(B, 0, 8, 1, 2, abi.BadAddr)}), uint8(1))
	ix, err := debuginfo.Open("../debuginfo/testdata/fixture.elf", debuginfo.Options{CacheDir: "-"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte, format uint8) {
		words := make([]uint64, len(b)/8)
		for i := range words {
			words[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		opt := abi.Options{Format: abi.Format(1 + format%3), PCMin: 1, PCMax: ^uint64(0)}
		tr := Build(words, abi.NewDecoder(words, opt), Options{})
		streamMatchesBuild(t, words, opt)
		nm := &Namer{Index: ix}
		for i, c := range tr.Calls {
			if c.Parent >= int32(i) || int(c.End) <= i || int(c.End) > len(tr.Calls) {
				t.Fatalf("call %d: parent %d end %d of %d", i, c.Parent, c.End, len(tr.Calls))
			}
			nm.Args(tr, i)
			nm.Ret(tr, i)
		}
	})
}
