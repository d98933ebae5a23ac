package abi

// The general v1 path: a layout's lengths checked against the data, else
// re-synchronisation.

import (
	"fmt"
)

// nextV1 decodes the next v1 record by the general path: the table's length
// when the data confirms it, else re-synchronisation.
func (d *Decoder) nextV1() bool {
	w, end := d.w, d.end
	for d.p < end {
		p := d.p
		if d.tornAt(p, HeaderWords+1) {
			return false
		}
		h := w[p]
		if v1HeaderOK(h) {
			pc, meta := w[p+1], w[p+2]
			k := Kind(h >> 28)
			n := 0
			if t := d.opt.Table; t != nil {
				n = t.RecordLen(pc, k, uint8(meta>>56))
				if n != 0 {
					q := p + n
					// As on the fast path: a header must follow, and a
					// sequence gap is noted, not taken for a mismatch.
					if q == end || (q < end && v1HeaderOK(w[q])) {
						fillV1(&d.rec, w, p, q)
						d.p = q
						return true
					}
					if q > end {
						d.tornRecord(p)
						return false
					}
					d.note(Anomaly{Kind: AnomalyLayoutMismatch, Offset: p, Detail: fmt.Sprintf("layout says pc %#x %s arg %d has %d words, but word %d is no header with sequence %d", pc, k, uint8(meta>>56), n, q, (h+1)&SeqMask)})
				} else {
					d.note(Anomaly{Kind: AnomalyNotInLayout, Offset: p, Detail: fmt.Sprintf("pc %#x %s arg %d is not in the layout", pc, k, uint8(meta>>56))})
				}
			}
			if n = d.searchLen(p); n > 0 {
				fillV1(&d.rec, w, p, p+n)
				d.p = p + n
				return true
			}
			if len(d.cands) > 1 {
				// Several boundaries each lead on: skip to where their
				// chains meet rather than pick one.
				q := d.converge(int64(h+1) & SeqMask)
				d.skip(p, q, fmt.Sprintf("%d possible record ends; resumed where they meet", len(d.cands)))
				d.p = q
				continue
			}
		}
		q := d.resyncFrom(p + 1)
		d.skip(p, q, "no record boundary could be proven here")
		d.p = q
	}
	return false
}

// follows tells whether w is a v1 header with the sequence number after h's.
func follows(w, h uint64) bool {
	return v1HeaderOK(w) && (w-h-1)&SeqMask == 0
}
