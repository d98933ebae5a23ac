package abi_test

import (
	"bytes"
	"os"
	"path/filepath"
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

func BenchmarkDecodeV3(b *testing.B) {
	res := benchBuffer(b)
	area := []uint64{0}
	for _, s := range res.Truth {
		r := abi.V1RecordAt(res.Area, s.Offset, s.Words)
		area = abi.EncodeV3(area, &r)
	}
	area[0] = uint64(len(area) - 1)
	b.SetBytes(int64(len(area)) * 8)
	for b.Loop() {
		d := abi.NewDecoder(area, abi.Options{Format: abi.FormatV3})
		n := 0
		for d.Next() {
			n++
		}
		if n != len(res.Truth) {
			b.Fatalf("%d of %d records", n, len(res.Truth))
		}
	}
}

// BenchmarkParseTrace reads a 128 MiB trace file from memory (header,
// metadata, copy of the words, checksum).
func BenchmarkParseTrace(b *testing.B) {
	res := benchBuffer(b)
	var buf bytes.Buffer
	if err := abi.WriteTrace(&buf, &abi.Trace{Words: res.Area}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := abi.ParseTrace(data, "bench.kdf"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadTrace loads a 128 MiB trace file from disk (mapped, the
// words read in place, checksum verified) and unmaps it.
func BenchmarkLoadTrace(b *testing.B) {
	res := benchBuffer(b)
	path := filepath.Join(b.TempDir(), "bench.kdf")
	if err := abi.SaveTrace(path, &abi.Trace{Words: res.Area}); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		tr, err := abi.LoadTrace(path)
		if err != nil || len(tr.Words) != len(res.Area) {
			b.Fatal(err)
		}
		tr.Close()
	}
}
