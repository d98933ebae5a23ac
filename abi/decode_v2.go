package abi

// v2: v1 with a 4-bit value count in the header.

import (
	"fmt"
)

// v2HeaderOK tells whether w can be a v2 header: type E or F, a count, a
// sequence number, every other bit zero.
func v2HeaderOK(w uint64) bool {
	return w&^(0xF<<28|0xF<<24|SeqMask) == 0 && (w>>28 == uint64(KindEntry) || w>>28 == uint64(KindReturn))
}

// nextV2 decodes the next v2 record: the header's count when the next
// header confirms it, else the count plus 16, 32... (a count above 15
// wraps), else it skips to the next header and reports the words.
func (d *Decoder) nextV2() bool {
	w, end := d.w, d.end
	for d.p < end {
		p := d.p
		if d.tornAt(p, HeaderWords+1) {
			return false
		}
		h := w[p]
		if v2HeaderOK(h) {
			nib := int(h >> 24 & 0xF)
			n := v2Vals(nib, 0) // the count the header states
			next := (h + 1) & SeqMask
			for k := 0; ; k++ {
				vals := v2Vals(nib, k)
				q := p + HeaderWords + vals
				if q > end || vals-n > d.opt.MaxFields {
					break
				}
				if d.v2Boundary(q, next, 2) {
					if vals != n {
						d.note(Anomaly{Kind: AnomalyCountOverflow, Offset: p, Detail: fmt.Sprintf("header counts %d values, the next header proves %d", n, vals)})
					}
					fillV1(&d.rec, w, p, q)
					d.p = q
					return true
				}
			}
			if p+HeaderWords+n > end {
				d.tornRecord(p)
				return false
			}
		}
		q := p + 1
		for q < end && !(v2HeaderOK(w[q]) && q+HeaderWords < end) {
			q++
		}
		d.skip(p, q, "no v2 header here")
		d.p = q
	}
	return false
}

// v2Boundary tells whether a v2 record with sequence seq starts at q and
// its count leads on through depth more records (or to the end): a single
// header could be a value that looks like one.
func (d *Decoder) v2Boundary(q int, seq uint64, depth int) bool {
	if q == d.end {
		return true
	}
	if q+HeaderWords >= d.end || !v2HeaderOK(d.w[q]) || d.w[q]&SeqMask != seq || !d.pcMetaOK(q) {
		return false
	}
	if depth == 0 {
		return true
	}
	nib := int(d.w[q] >> 24 & 0xF)
	n := v2Vals(nib, 0)
	for k := 0; ; k++ {
		vals := v2Vals(nib, k)
		if q+HeaderWords+vals > d.end || vals-n > d.opt.MaxFields {
			return false
		}
		if d.v2Boundary(q+HeaderWords+vals, (seq+1)&SeqMask, depth-1) {
			return true
		}
	}
}

// v2Vals is the k-th value count a v2 count nibble may stand for: a count
// above 15 wraps, so nib + 16k, where a nibble of 0 means 1, 16, 32, ...
func v2Vals(nib, k int) int {
	if nib == 0 && k == 0 {
		return 1
	}
	return nib + 16*k
}
