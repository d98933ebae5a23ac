package abi_test

import (
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

// TestResyncFullBuffer is the bar for decoding v1 without a layout: on a
// full 16 M-word buffer whose values hold many header look-alikes, at
// least 99.9 % of the records decode exactly, and none is invented.
func TestResyncFullBuffer(t *testing.T) {
	if testing.Short() {
		t.Skip("16 M-word buffer: skipped with -short")
	}
	res := benchBuffer(t)
	truth := make(map[int]int, len(res.Truth))
	for _, s := range res.Truth {
		truth[s.Offset] = s.Words
	}
	d := abi.NewDecoder(res.Area, abi.Options{Format: abi.FormatV1, BufferWords: len(res.Area)})
	exact := 0
	for d.Next() {
		r := d.Record()
		if truth[r.Offset] != r.Words() {
			t.Fatalf("invented record at word %d (%d words); truth has %d", r.Offset, r.Words(), truth[r.Offset])
		}
		exact++
	}
	s := d.Summary()
	lookalikes := 0
	for _, w := range res.Area[1:] {
		if w>>28 == 0xE && w&^(0xF<<28|abi.SeqMask) == 0 {
			lookalikes++
		}
	}
	lookalikes -= s.ByKind[abi.KindEntry]
	share := float64(exact) / float64(len(res.Truth))
	t.Logf("%d of %d records exact (%.4f%%), %d words unattributed, %d entry-header look-alikes among the values", exact, len(res.Truth), 100*share, s.Unattributed, lookalikes)
	if share < 0.999 {
		t.Fatalf("only %.4f%% of records decoded", 100*share)
	}
	if lookalikes < 10000 {
		t.Fatalf("the workload should hold many header look-alikes, has %d", lookalikes)
	}
	if !s.Full {
		t.Fatal("a full buffer must be reported")
	}
}
