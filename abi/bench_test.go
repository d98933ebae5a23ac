package abi_test

import (
	"sync"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/model"
)

var (
	benchOnce sync.Once
	benchSim  *model.SimResult
)

// benchBuffer is a full 16 M-word (128 MiB) buffer of the default mix
// with many header look-alikes among the values.
func benchBuffer(b testing.TB) *model.SimResult {
	benchOnce.Do(func() {
		cfg := model.DefaultSimConfig()
		cfg.Words = abi.MaxWords
		cfg.Lookalike = 0.1
		res, err := model.Simulate(cfg)
		if err != nil {
			b.Fatal(err)
		}
		benchSim = res
	})
	return benchSim
}

func benchDecode(b *testing.B, opt abi.Options) {
	res := benchBuffer(b)
	b.SetBytes(int64(len(res.Area)) * 8)
	b.ResetTimer()
	for b.Loop() {
		d := abi.NewDecoder(res.Area, opt)
		var sum uint64
		for d.Next() {
			r := d.Record()
			sum += uint64(r.Seq) + uint64(len(r.Values))
		}
		if d.Summary().Records == 0 || sum == 0 {
			b.Fatal("nothing decoded")
		}
	}
}

func BenchmarkDecodeV1Exact(b *testing.B) {
	res := benchBuffer(b)
	table, _ := abi.TableFromLayout(res.Layout, 0)
	benchDecode(b, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: len(res.Area)})
}

func BenchmarkDecodeV1Resync(b *testing.B) {
	res := benchBuffer(b)
	benchDecode(b, abi.Options{Format: abi.FormatV1, BufferWords: len(res.Area)})
}
