package abi_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/model"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the model")

// goldenSim is the workload behind the golden buffers: small, full, with
// look-alikes, faults, ERR_PTRs and structs of more than 15 fields.
func goldenSim(t *testing.T) *model.SimResult {
	cfg := model.DefaultSimConfig()
	cfg.Seed = 7
	cfg.Words = 4096
	cfg.Functions = 60
	cfg.Lookalike = 0.1
	res, err := model.Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func reencode(t *testing.T, res *model.SimResult, f abi.Format) []uint64 {
	area := []uint64{0}
	for _, s := range res.Truth {
		r := abi.V1RecordAt(res.Area, s.Offset, s.Words)
		area = abi.Encode(f, area, &r)
	}
	area[0] = uint64(len(area) - 1)
	return area
}

func wordsFile(w []uint64) []byte {
	b := make([]byte, 8*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func decodeText(area []uint64, opt abi.Options) ([]byte, []abi.Record) {
	var out bytes.Buffer
	var recs []abi.Record
	d := abi.NewDecoder(area, opt)
	for d.Next() {
		r := *d.Record()
		r.Values = slices.Clone(r.Values)
		recs = append(recs, r)
		out.WriteString(r.String())
		out.WriteByte('\n')
	}
	s := d.Summary()
	fmt.Fprintf(&out, "# %s: %d records, %d words, %d unattributed, full=%v, anomalies=%v\n", s.Format, s.Records, s.RecordWords, s.Unattributed, s.Full, s.AnomalyCounts)
	return out.Bytes(), recs
}

// TestGolden decodes the checked-in buffers of each format and compares
// the text with the golden output; re-encoding the records gives the
// buffer back bit for bit.
func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	if *update {
		res := goldenSim(t)
		os.MkdirAll(dir, 0o755)
		var lb bytes.Buffer
		res.Layout.Write(&lb)
		os.WriteFile(filepath.Join(dir, "v1.layout.jsonl"), lb.Bytes(), 0o644)
		os.WriteFile(filepath.Join(dir, "v1.area"), wordsFile(res.Area[:res.Area[0]+1]), 0o644)
		os.WriteFile(filepath.Join(dir, "v2.area"), wordsFile(reencode(t, res, abi.FormatV2)), 0o644)
		os.WriteFile(filepath.Join(dir, "v3.area"), wordsFile(reencode(t, res, abi.FormatV3)), 0o644)
	}
	layout, err := abi.LoadLayout(filepath.Join(dir, "v1.layout.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	table, errs := abi.TableFromLayout(layout, 0)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range []struct {
		name   string
		format abi.Format
		table  *abi.Table
	}{
		{"v1", abi.FormatV1, table},
		{"v1.resync", abi.FormatV1, nil},
		{"v2", abi.FormatV2, nil},
		{"v3", abi.FormatV3, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := c.format.String()
			tr, err := abi.LoadTrace(filepath.Join(dir, src+".area"))
			if err != nil {
				t.Fatal(err)
			}
			if got := abi.DetectFormat(tr.Words); got != c.format {
				t.Errorf("DetectFormat = %s, want %s", got, c.format)
			}
			text, recs := decodeText(tr.Words, abi.Options{Format: c.format, Table: c.table})
			golden := filepath.Join(dir, c.name+".txt")
			if *update {
				os.WriteFile(golden, text, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(text, want) {
				t.Errorf("decode differs from %s (run go test ./abi -update after checking the change)", golden)
			}
			if c.name == "v1.resync" {
				return
			}
			again := []uint64{0}
			for i := range recs {
				again = abi.Encode(c.format, again, &recs[i])
			}
			again[0] = uint64(len(again) - 1)
			if !slices.Equal(again, tr.Words) {
				t.Errorf("re-encoding %d records does not give the buffer back", len(recs))
			}
		})
	}
}
