package abi

// v3: count, size and argument index in the header.

import (
	"fmt"
)

// v3Kinds has a bit set for each known record type.
const v3Kinds = 1<<KindEntry | 1<<KindReturn | 1<<KindCompare

// v3 header fields.
func v3Kind(h uint64) Kind           { return Kind(h >> 28 & 0xF) }
func v3Count(h uint64) int           { return int(h >> 32 & 0xFFFF) }
func v3HeaderOK(h uint64) bool       { return h>>24&0xF == 0 }
func v3KnownKind(k Kind) bool        { return k == KindEntry || k == KindReturn || k == KindCompare }
func v3Len(h uint64) int             { return HeaderWords + v3Count(h) }
func v3Fits(h uint64, room int) bool { return v3Len(h) <= room }

// nextV3 decodes the next v3 record by the general path: it skips words
// that hold no header and records of unknown type, and reports both.
func (d *Decoder) nextV3() bool {
	w, end := d.w, d.end
	for d.p < end {
		p := d.p
		if d.tornAt(p, HeaderWords) {
			return false
		}
		h := w[p]
		if !v3HeaderOK(h) {
			q := p + 1
			for q < end && !(v3HeaderOK(w[q]) && v3KnownKind(v3Kind(w[q])) && v3Fits(w[q], end-q)) {
				q++
			}
			d.skip(p, q, "no v3 header here")
			d.p = q
			continue
		}
		if !v3Fits(h, end-p) {
			d.tornRecord(p)
			return false
		}
		q := p + v3Len(h)
		if k := v3Kind(h); !v3KnownKind(k) {
			d.note(Anomaly{Kind: AnomalyUnknownType, Offset: p, Words: q - p, Detail: fmt.Sprintf("record type %#x; skipped by its count", uint8(k))})
			d.sum.Unattributed += q - p
			d.p = q
			continue
		}
		d.rec.setV3(w, p, q, h)
		d.p = q
		return true
	}
	return false
}

// fastV3 decodes, into the batch, the v3 records of a known kind that fit
// in the counted words, without a call per record (see fastV1). It stops
// at anything else, which nextV3 then explains.
func (d *Decoder) fastV3() int {
	w := d.w[:d.end]
	p0 := d.p
	if p0+HeaderWords > len(w) {
		return 0
	}
	expect := uint32(w[p0]) & SeqMask // the first record's own: tookBatch notes a gap
	batch := d.batch[:]
	p, n := p0, 0
	for n < len(batch) && p+HeaderWords <= len(w) {
		h := w[p]
		k := Kind(h >> 28 & 0xF)
		q := p + HeaderWords + int(h>>32&0xFFFF)
		// Bits 24-27 clear, a known kind (by a bit mask), inside the
		// counted words.
		if h&(0xF<<24) != 0 || v3Kinds>>k&1 == 0 || q > len(w) {
			break
		}
		seq := uint32(h) & SeqMask
		if seq != expect {
			break
		}
		// Filled here, not by setV3: through the setter the compiler
		// spills the header and reloads it on every record.
		r := &batch[n]
		r.Offset = p
		r.Kind = k
		r.Seq = seq
		r.PC = w[p+1]
		r.Ptr = w[p+2]
		r.Size = uint8(h >> 48)
		r.ArgIdx = uint8(h >> 56)
		r.Values = w[p+HeaderWords : q : q]
		d.sum.ByKind[k]++
		if q-p > d.sum.MaxRecordWords {
			d.sum.MaxRecordWords = q - p
		}
		expect = (seq + 1) & SeqMask
		p = q
		n++
	}
	d.tookBatch(n, p, expect)
	return n
}
