package model

import (
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

// decodeSpans decodes area and returns where the records it found lie.
func decodeSpans(t *testing.T, area []uint64, opt abi.Options) ([]Span, *abi.Summary) {
	t.Helper()
	d := abi.NewDecoder(area, opt)
	var got []Span
	for d.Next() {
		r := d.Record()
		got = append(got, Span{r.Offset, r.Words()})
	}
	return got, d.Summary()
}

func TestSimDecodesExactlyWithLayout(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		cfg := DefaultSimConfig()
		cfg.Seed = seed
		cfg.Words = 1<<12 + int(seed)*517
		res, err := Simulate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		table, errs := abi.TableFromLayout(res.Layout, 0)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		got, sum := decodeSpans(t, res.Area, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: cfg.Words})
		if len(got) != len(res.Truth) {
			t.Fatalf("seed %d: decoded %d records, wrote %d; anomalies %v", seed, len(got), len(res.Truth), sum.Anomalies)
		}
		for i := range got {
			if got[i] != res.Truth[i] {
				t.Fatalf("seed %d: record %d at %v, want %v", seed, i, got[i], res.Truth[i])
			}
		}
		if !sum.Exact() || sum.Unattributed != 0 {
			t.Fatalf("seed %d: not exact: %+v", seed, sum.Anomalies)
		}
		if !sum.Full || res.Dropped == 0 {
			t.Fatalf("seed %d: a run to full must report it: full=%v dropped=%d", seed, sum.Full, res.Dropped)
		}
	}
}

func TestSimResyncNeverInvents(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		cfg := DefaultSimConfig()
		cfg.Seed = seed
		cfg.Lookalike = 0.2
		cfg.Words = 1 << 14
		res, err := Simulate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		truth := map[Span]bool{}
		for _, s := range res.Truth {
			truth[s] = true
		}
		got, sum := decodeSpans(t, res.Area, abi.Options{Format: abi.FormatV1, BufferWords: cfg.Words})
		for _, g := range got {
			if !truth[g] {
				t.Fatalf("seed %d: invented record %v", seed, g)
			}
		}
		words := 0
		for _, g := range got {
			words += g.Words
		}
		if words+sum.Unattributed != int(res.Area[0]) {
			t.Fatalf("seed %d: %d decoded + %d unattributed words != %d counted", seed, words, sum.Unattributed, res.Area[0])
		}
		t.Logf("seed %d: %d/%d records, %d words unattributed", seed, len(got), len(res.Truth), sum.Unattributed)
	}
}
