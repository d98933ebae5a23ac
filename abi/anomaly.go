package abi

// What a decoder reports besides records: anomalies and the summary.

import (
	"fmt"
)

// AnomalyKind classifies what a decoder found wrong with a buffer.
type AnomalyKind uint8

const (
	// AnomalyTornTail: area[0] counts words past the end of the dump or of
	// the buffer; only the words present are decoded.
	AnomalyTornTail AnomalyKind = iota
	// AnomalyTornRecord: the last record runs past the counted words.
	AnomalyTornRecord
	// AnomalyFull: the buffer has no room for another record, so records
	// were probably dropped after the last one.
	AnomalyFull
	// AnomalySeqGap: two adjacent records whose sequence numbers do not
	// follow each other.
	AnomalySeqGap
	// AnomalyUnknownType: a record whose type is none of the format's.
	AnomalyUnknownType
	// AnomalyUnattributed: words no record could be found for.
	AnomalyUnattributed
	// AnomalyLayoutMismatch: the layout gave a length the buffer
	// contradicts (stale layout for this kernel, or corrupt data).
	AnomalyLayoutMismatch
	// AnomalyNotInLayout: a (function, argument) the layout lacks; its
	// records were decoded by re-synchronisation.
	AnomalyNotInLayout
	// AnomalyCountOverflow: a v2 record with more than 15 values, whose
	// length was recovered from the next header.
	AnomalyCountOverflow
	numAnomalyKinds
)

var anomalyNames = [...]string{
	AnomalyTornTail:       "torn-tail",
	AnomalyTornRecord:     "torn-record",
	AnomalyFull:           "buffer-full",
	AnomalySeqGap:         "seq-gap",
	AnomalyUnknownType:    "unknown-type",
	AnomalyUnattributed:   "unattributed",
	AnomalyLayoutMismatch: "layout-mismatch",
	AnomalyNotInLayout:    "not-in-layout",
	AnomalyCountOverflow:  "v2-count-overflow",
}

func (k AnomalyKind) String() string {
	if int(k) < len(anomalyNames) {
		return anomalyNames[k]
	}
	return fmt.Sprintf("anomaly%d", k)
}

// Anomaly is one finding, at a word offset of the area.
type Anomaly struct {
	Kind   AnomalyKind `json:"kind"`
	Offset int         `json:"offset"`
	Words  int         `json:"words,omitempty"`
	Detail string      `json:"detail"`
}

func (a Anomaly) String() string {
	return fmt.Sprintf("word %d: %s: %s", a.Offset, a.Kind, a.Detail)
}

// maxKeptAnomalies bounds the anomalies a Summary lists one by one; all
// are counted.
const maxKeptAnomalies = 200

// Summary is what a decoder learnt about a buffer besides its records.
type Summary struct {
	Format Format
	// Count is area[0]; AreaWords the words present in the dump;
	// BufferWords the buffer's size when known (0 otherwise).
	Count       uint64
	AreaWords   int
	BufferWords int

	Records        int
	ByKind         [16]int // records by Kind
	RecordWords    int     // words inside decoded records
	Unattributed   int     // counted words that belong to no decoded record
	LostRecords    int     // records inside unattributed words (from sequence numbers)
	MaxRecordWords int
	Full           bool

	Anomalies     []Anomaly // the first maxKeptAnomalies
	AnomalyCounts [numAnomalyKinds]int
}

// Exact tells whether every counted word was attributed to a record.
func (s *Summary) Exact() bool {
	return s.Unattributed == 0 && s.AnomalyCounts[AnomalyTornRecord] == 0 && s.AnomalyCounts[AnomalyTornTail] == 0
}

// note counts an anomaly and keeps the first maxKeptAnomalies.
func (d *Decoder) note(a Anomaly) {
	d.sum.AnomalyCounts[a.Kind]++
	if len(d.sum.Anomalies) < maxKeptAnomalies {
		d.sum.Anomalies = append(d.sum.Anomalies, a)
	}
}

// finish ends the decode: a buffer without room for another record was
// probably full.
func (d *Decoder) finish() {
	d.done = true
	if bw := d.opt.BufferWords; bw > 0 {
		free := bw - 1 - int(min(d.sum.Count, uint64(bw-1)))
		need := max(d.sum.MaxRecordWords, HeaderWords+1)
		if free < need {
			d.sum.Full = true
			d.note(Anomaly{Kind: AnomalyFull, Offset: d.end, Detail: fmt.Sprintf("%d of %d words used, %d free: records that did not fit were probably dropped (record with a larger buffer)", bw-1-free, bw-1, free)})
		}
	}
}

// skip books words [from, to) as unattributed.
func (d *Decoder) skip(from, to int, why string) {
	if to <= from {
		return
	}
	d.sum.Unattributed += to - from
	lost := ""
	if to < d.end && d.prevSeq >= 0 {
		n := int((uint32(d.w[to]) - uint32(d.prevSeq+1)) & SeqMask)
		d.sum.LostRecords += n
		lost = fmt.Sprintf(", %d records", n)
	}
	d.note(Anomaly{Kind: AnomalyUnattributed, Offset: from, Words: to - from, Detail: fmt.Sprintf("%d words%s not attributed: %s", to-from, lost, why)})
}

// tornAt tells whether fewer than min counted words are left from p, the
// least a record can have, and books them as torn.
func (d *Decoder) tornAt(p, min int) bool {
	if d.end-p < min {
		d.tornRecord(p)
		return true
	}
	return false
}

// tornRecord books the counted words from p on, too few for a record.
func (d *Decoder) tornRecord(p int) {
	d.note(Anomaly{Kind: AnomalyTornRecord, Offset: p, Words: d.end - p, Detail: fmt.Sprintf("the last %d counted words do not hold a whole record", d.end-p)})
	d.sum.Unattributed += d.end - p
	d.p = d.end
}
