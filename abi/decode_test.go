package abi

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const tpc = 0xffffffff81000100

// v1 builds a v1 area from records of (kind, seq, arg, nvalues).
func v1(recs ...[4]int) []uint64 {
	area := []uint64{0}
	for _, r := range recs {
		rec := Record{Kind: Kind(r[0]), Seq: uint32(r[1]), PC: tpc, ArgIdx: uint8(r[2]), Size: 8, Ptr: 0xffffc90000001000}
		for i := range r[3] {
			rec.Values = append(rec.Values, uint64(0x100+i))
		}
		area = EncodeV1(area, &rec)
	}
	area[0] = uint64(len(area) - 1)
	return area
}

func tableOf(lens map[[2]int]int) *Table {
	t := NewTable(4)
	for k, n := range lens {
		t.Set(tpc, Kind(k[0]), uint8(k[1]), n)
	}
	return t
}

func TestDecoderAnomalies(t *testing.T) {
	E, F := int(KindEntry), int(KindReturn)
	exact := tableOf(map[[2]int]int{{E, 0}: 4, {E, 1}: 6, {F, 0}: 4})
	// Two words of garbage between two records: values to a decoder
	// without a layout, a mismatch to one with it.
	garbage := v1([4]int{E, 1, 0, 1})
	garbage = append(garbage, 0xdead, 0xbeef)
	garbage = append(garbage, v1([4]int{F, 2, 0, 1})[1:]...)
	garbage[0] = uint64(len(garbage) - 1)
	cases := []struct {
		name    string
		area    []uint64
		opt     Options
		records int
		kinds   map[AnomalyKind]int
		detail  string
	}{
		{"clean", v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 1, 3}, [4]int{F, 3, 0, 1}), Options{Table: exact}, 3, nil, ""},
		{"empty", []uint64{0}, Options{Table: exact}, 0, nil, ""},
		{"nothing at all", nil, Options{}, 0, nil, ""},
		{"seq gap", v1([4]int{E, 1, 0, 1}, [4]int{E, 5, 1, 3}), Options{Table: exact}, 2, map[AnomalyKind]int{AnomalySeqGap: 1}, "sequence 5 follows 1"},
		{"count past the dump", func() []uint64 { a := v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 1, 3}); a[0] = 40; return a }(), Options{Table: exact}, 2, map[AnomalyKind]int{AnomalyTornTail: 1}, "only 10 words follow"},
		{"count past the buffer", v1([4]int{E, 1, 0, 1}), Options{Table: exact, BufferWords: 4}, 1, map[AnomalyKind]int{AnomalyTornTail: 1, AnomalyFull: 1}, "counts past the buffer"},
		{"torn last record", func() []uint64 { a := v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 1, 3}); return a[:len(a)-2] }(), Options{Table: exact}, 1, map[AnomalyKind]int{AnomalyTornTail: 1, AnomalyTornRecord: 1}, "do not hold a whole record"},
		{"full buffer", v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 1, 3}), Options{Table: exact, BufferWords: 13}, 2, map[AnomalyKind]int{AnomalyFull: 1}, "probably dropped"},
		{"room left", v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 1, 3}), Options{Table: exact, BufferWords: 64}, 2, nil, ""},
		{"not in layout", v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 7, 2}, [4]int{F, 3, 0, 1}), Options{Table: exact}, 3, map[AnomalyKind]int{AnomalyNotInLayout: 1}, "arg 7 is not in the layout"},
		{"stale layout", v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 1, 2}, [4]int{F, 3, 0, 1}), Options{Table: exact}, 3, map[AnomalyKind]int{AnomalyLayoutMismatch: 1}, "has 6 words"},
		{"corrupt header", func() []uint64 {
			a := v1([4]int{E, 1, 0, 1}, [4]int{E, 2, 1, 3}, [4]int{F, 3, 0, 1}, [4]int{F, 4, 0, 1}, [4]int{F, 5, 0, 1})
			a[5] = 0xdead
			return a
		}(), Options{}, 3, map[AnomalyKind]int{AnomalyUnattributed: 1}, "10 words not attributed"},
		{"garbage after a record is values without a layout", garbage, Options{}, 2, nil, ""},
		{"and a layout mismatch with one", garbage, Options{Table: exact}, 2, map[AnomalyKind]int{AnomalyLayoutMismatch: 1}, "no header with sequence 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(c.area, c.opt)
			n := 0
			for d.Next() {
				n++
			}
			s := d.Summary()
			if n != c.records || s.Records != n {
				t.Errorf("%d records (summary %d), want %d; anomalies %v", n, s.Records, c.records, s.Anomalies)
			}
			for k := range s.AnomalyCounts {
				if got, want := s.AnomalyCounts[k], c.kinds[AnomalyKind(k)]; got != want {
					t.Errorf("%d %s anomalies, want %d: %v", got, AnomalyKind(k), want, s.Anomalies)
				}
			}
			if c.detail != "" {
				found := false
				for _, a := range s.Anomalies {
					found = found || strings.Contains(a.String(), c.detail)
				}
				if !found {
					t.Errorf("no anomaly says %q: %v", c.detail, s.Anomalies)
				}
			}
			if err := sameAsGeneralPath(c.area, c.opt); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDecoderV3UnknownTypeSkippedByCount(t *testing.T) {
	area := []uint64{0}
	area = EncodeV3(area, &Record{Kind: KindEntry, Seq: 1, PC: tpc, Size: 4, Values: []uint64{7}})
	area = EncodeV3(area, &Record{Kind: Kind(0x9), Seq: 2, PC: tpc, Values: []uint64{1, 2, 3}})
	area = EncodeV3(area, &Record{Kind: KindCompare, Seq: 3, PC: tpc, Ptr: 3, Values: []uint64{5, 6}})
	area = EncodeV3(area, &Record{Kind: KindReturn, Seq: 4, PC: tpc, Size: 0, Values: nil})
	area[0] = uint64(len(area) - 1)
	d := NewDecoder(area, Options{})
	var kinds []Kind
	for d.Next() {
		kinds = append(kinds, d.Record().Kind)
	}
	s := d.Summary()
	if s.Format != FormatV3 || len(kinds) != 3 || kinds[1] != KindCompare || s.AnomalyCounts[AnomalyUnknownType] != 1 || s.Unattributed != 6 {
		t.Fatalf("format %s kinds %v anomalies %v unattributed %d", s.Format, kinds, s.Anomalies, s.Unattributed)
	}
}

func TestDetectFormat(t *testing.T) {
	for _, c := range []struct {
		f    Format
		area []uint64
	}{
		{FormatV1, v1([4]int{int(KindEntry), 1, 0, 1})},
		{FormatV2, EncodeV2([]uint64{4}, &Record{Kind: KindEntry, Seq: 1, PC: tpc, Values: []uint64{1}})},
		{FormatV3, EncodeV3([]uint64{4}, &Record{Kind: KindEntry, Seq: 1, PC: tpc, Size: 4, Values: []uint64{1}})},
		{FormatV1, []uint64{0}},
	} {
		t.Run(fmt.Sprintf("%s/%d words", c.f, len(c.area)), func(t *testing.T) {
			if got := DetectFormat(c.area); got != c.f {
				t.Errorf("DetectFormat(%#x) = %s, want %s", c.area, got, c.f)
			}
		})
	}
}

// TestTablePCZero: 0 marks an empty slot of the table, so a record whose
// pc is 0 must find no length, in an empty table (it used to index an
// empty block list) and in a full one (it used to get the first
// function's lengths).
func TestTablePCZero(t *testing.T) {
	empty := NewTable(4)
	if n := empty.RecordLen(0, KindEntry, 0); n != 0 {
		t.Errorf("empty table: pc 0 has length %d", n)
	}
	full := tableOf(map[[2]int]int{{int(KindEntry), 0}: 4})
	if n := full.RecordLen(0, KindEntry, 0); n != 0 {
		t.Errorf("pc 0 has length %d, the first function's", n)
	}
	if err := full.Set(0, KindEntry, 0, 4); err == nil {
		t.Error("Set accepted pc 0")
	}
	// The 40-byte area fuzzing found: one v1 record with pc 0.
	area := []uint64{4, V1Header(KindEntry, 1), 0, 0, 7}
	for _, opt := range []Options{{Format: FormatV1}, {Format: FormatV1, Table: full}} {
		d := NewDecoder(area, opt)
		for d.Next() {
		}
		if s := d.Summary(); s.Records+s.Unattributed == 0 {
			t.Errorf("table %v: the record is neither decoded nor reported: %+v", opt.Table != nil, s)
		}
	}
}

// TestFastPathsMatchGeneral decodes the golden buffers with the fast paths
// (batches) and with the general path alone: same records, same summary.
func TestFastPathsMatchGeneral(t *testing.T) {
	dir := filepath.Join("testdata", "in")
	layout, err := LoadLayout(filepath.Join(dir, "v1.layout.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	table, _ := TableFromLayout(layout, 0)
	for _, c := range []struct {
		name string
		file string
		opt  Options
	}{
		{"v1 exact", "v1.area", Options{Format: FormatV1, Table: table}},
		{"v1 resync", "v1.area", Options{Format: FormatV1}},
		{"v2", "v2.area", Options{Format: FormatV2}},
		{"v3", "v3.area", Options{Format: FormatV3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := LoadTrace(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if err := sameAsGeneralPath(tr.Words, c.opt); err != nil {
				t.Fatal(err)
			}
			// And with damage: a flipped word every 97.
			area := slices.Clone(tr.Words)
			for i := 5; i < len(area); i += 97 {
				area[i] ^= 1 << (i % 64)
			}
			if err := sameAsGeneralPath(area, c.opt); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDecoderAllocs: decoding allocates the decoder and nothing per
// record: a whole clean buffer costs what an empty one does, and
// re-synchronisation allocates per function it learns, not per record.
func TestDecoderAllocs(t *testing.T) {
	dir := filepath.Join("testdata", "in")
	layout, err := LoadLayout(filepath.Join(dir, "v1.layout.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	table, _ := TableFromLayout(layout, 0)
	golden := func(file string) []uint64 {
		tr, err := LoadTrace(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		return tr.Words
	}
	// v2 without the records of more than 15 values, whose wrapped count
	// is an anomaly (and anomalies allocate).
	v2 := []uint64{0}
	d := NewDecoder(golden("v1.area"), Options{Format: FormatV1, Table: table})
	for seq := uint32(1); d.Next(); {
		if r := *d.Record(); len(r.Values) < 16 {
			r.Seq = seq
			seq++
			v2 = EncodeV2(v2, &r)
		}
	}
	v2[0] = uint64(len(v2) - 1)
	for _, c := range []struct {
		name string
		area []uint64
		opt  Options
	}{
		{"v1 exact", golden("v1.area"), Options{Format: FormatV1, Table: table}},
		{"v2", v2, Options{Format: FormatV2}},
		{"v3", golden("v3.area"), Options{Format: FormatV3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			records := 0
			decode := func(area []uint64) func() {
				return func() {
					d := NewDecoder(area, c.opt)
					records = 0
					for d.Next() {
						if d.Record().Words() > HeaderWords {
							records++
						}
					}
				}
			}
			base := testing.AllocsPerRun(20, decode([]uint64{0}))
			full := testing.AllocsPerRun(20, decode(c.area))
			if records < 500 {
				t.Fatalf("only %d records", records)
			}
			if full != base {
				t.Fatalf("%v allocations for %d records, %v for none: %.3f per record", full, records, base, (full-base)/float64(records))
			}
		})
	}
	// Re-synchronisation learns each function's lengths as it meets it,
	// and allocates for that: once per function, not per record. The
	// same records twice over (sequence numbers going on) cost what they
	// cost once.
	t.Run("v1 resync", func(t *testing.T) {
		once := golden("v1.area")
		twice := slices.Clone(once)
		var recs []Record
		for d := NewDecoder(once, Options{Format: FormatV1, Table: table}); d.Next(); {
			recs = append(recs, *d.Record())
		}
		seq := recs[len(recs)-1].Seq + 1
		for _, r := range recs {
			r.Seq = seq & SeqMask
			seq++
			twice = EncodeV1(twice, &r)
		}
		twice[0] = uint64(len(twice) - 1)
		records := 0
		decode := func(area []uint64) func() {
			return func() {
				d := NewDecoder(area, Options{Format: FormatV1})
				records = 0
				for d.Next() {
					records++
				}
				if s := d.Summary(); s.Unattributed != 0 || len(s.Anomalies) != 0 {
					t.Fatalf("re-synchronisation left %d words unattributed, anomalies %v", s.Unattributed, s.AnomalyCounts)
				}
			}
		}
		a1 := testing.AllocsPerRun(20, decode(once))
		n1 := records
		a2 := testing.AllocsPerRun(20, decode(twice))
		if records != 2*n1 {
			t.Fatalf("%d records twice over, %d once", records, n1)
		}
		if a2 != a1 {
			t.Fatalf("%v allocations for %d records, %v for the first %d: %.3f per record in steady state", a2, records, a1, n1, (a2-a1)/float64(n1))
		}
		t.Logf("%v allocations for %d records of %d functions learnt", a1, n1, len(layout.Funcs))
	})
}

// A v2 count nibble of 0 stands for 1 value or a multiple of 16, any other
// for itself plus a multiple of 16: every such record decodes, with the
// overflow reported, and the records after it too.
func TestV2WrappedCounts(t *testing.T) {
	for _, vals := range []int{1, 15, 16, 17, 31, 32, 33, 48} {
		t.Run(fmt.Sprint(vals), func(t *testing.T) {
			values := make([]uint64, vals)
			for i := range values {
				values[i] = uint64(0x1000 + i)
			}
			// The wrapped record first, then in the middle: the
			// boundary check that confirms a record looks ahead
			// through the wrapped one.
			counts := []int{1, vals, 1, 1, vals, 1, 1}
			area := []uint64{0}
			for i, n := range counts {
				v := []uint64{7}
				if n == vals {
					v = values
				}
				area = EncodeV2(area, &Record{Kind: KindEntry, Seq: uint32(i + 1), PC: 0xffffffff81000040 + uint64(i)*0x40, Size: 8, Values: v})
			}
			area[0] = uint64(len(area) - 1)
			d := NewDecoder(area, Options{Format: FormatV2})
			var got []int
			for d.Next() {
				got = append(got, len(d.Record().Values))
			}
			s := d.Summary()
			if want := counts; !slices.Equal(got, want) || s.Unattributed != 0 {
				t.Fatalf("value counts %v, want %v; %d words unattributed, anomalies %v", got, want, s.Unattributed, s.Anomalies)
			}
			if overflow := s.AnomalyCounts[AnomalyCountOverflow] > 0; overflow != (vals > 15) {
				t.Errorf("count overflow reported %v for %d values", overflow, vals)
			}
		})
	}
}
