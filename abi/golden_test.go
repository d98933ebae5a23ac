package abi_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/golden"
	"github.com/kcovdf/kcovdf/model"
)

// The decoders' expected text lives under testdata/golden/ and is
// rewritten with "go test ./abi -update". The buffers it is decoded from
// (testdata/in/: v1.area, v2.area, v3.area, v1.layout.jsonl) are inputs,
// never rewritten by a test: goldenInputs made them once from the model,
// and TestGoldenInputs says when the model no longer makes the same ones.

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

// goldenInputs is what testdata/in/ holds: the model's layout and buffer
// (v1) and the same records re-encoded in v2 and v3.
func goldenInputs(t *testing.T) map[string][]byte {
	res := goldenSim(t)
	var lb bytes.Buffer
	if err := res.Layout.Write(&lb); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"v1.layout.jsonl": lb.Bytes(),
		"v1.area":         abi.BytesOf(res.Area[:res.Area[0]+1]),
		"v2.area":         abi.BytesOf(reencode(t, res, abi.FormatV2)),
		"v3.area":         abi.BytesOf(reencode(t, res, abi.FormatV3)),
	}
}

// TestGoldenInputs: the checked-in buffers are still what the model and
// the encoders make. When a deliberate change of either breaks this, the
// inputs change by hand (write goldenInputs' files), reviewed as such.
func TestGoldenInputs(t *testing.T) {
	for name, want := range goldenInputs(t) {
		t.Run(name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join("testdata", "in", name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("testdata/in/%s is no longer what the model makes (%d bytes, the model %d)", name, len(got), len(want))
			}
		})
	}
}

// TestGolden decodes the checked-in buffers of each format and compares
// the text with the expected output; re-encoding the records gives the
// buffer back bit for bit.
func TestGolden(t *testing.T) {
	in := filepath.Join("testdata", "in")
	layout, err := abi.LoadLayout(filepath.Join(in, "v1.layout.jsonl"))
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
			tr, err := abi.LoadTrace(filepath.Join(in, c.format.String()+".area"))
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if got := abi.DetectFormat(tr.Words); got != c.format {
				t.Errorf("DetectFormat = %s, want %s", got, c.format)
			}
			text, recs := decodeText(tr.Words, abi.Options{Format: c.format, Table: c.table})
			golden.Check(t, c.name+".txt", text)
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
