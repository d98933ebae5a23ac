package abi

// The exact v1 fast path: records whose length the table knows, in batches.

import "fmt"

// fastV1 decodes, into the batch, the records of an exact v1 decode whose
// length the table knows and that are followed by a header or the end. It
// stops at anything else, which nextV1 then explains.
//
// The inner loop makes no call, not even a cold one, and keeps few values
// live: a call anywhere in it, or more values than registers, makes the
// compiler spill on every record. So the table lookup is inlined, a
// sequence gap leaves the loop to be noted, and the words in records are
// counted once at the end (the records of one batch are contiguous).
func (d *Decoder) fastV1(t *Table) int {
	w := d.w[:d.end]
	p0 := d.p
	p := p0
	if p+HeaderWords >= len(w) {
		return 0
	}
	batch := d.batch[:]
	lastPC, lastLen := d.lastPC, d.lastLen
	expect := d.expectSeq(p)
	maxWords := d.sum.MaxRecordWords
	n, returns := 0, 0
	for {
		gap := false
		for n < len(batch) && p+HeaderWords < len(w) {
			h, pc, meta := w[p], w[p+1], w[p+2]
			if !v1HeaderOK(h) {
				break
			}
			// A function's entry records come in a row: remember the last
			// one.
			b := lastLen
			if pc != lastPC || b == nil {
				if b = t.find(pc); b == nil {
					break
				}
				lastPC, lastLen = pc, b
			}
			i := int(meta >> 56)
			if h>>28 == uint64(KindReturn) {
				i = retSlot
			}
			l := int(b[i])
			q := p + l
			if l <= HeaderWords || q > len(w) || (q < len(w) && !v1HeaderOK(w[q])) {
				break
			}
			seq := uint32(h) & SeqMask
			if seq != expect {
				gap = true
				break
			}
			r := &batch[n]
			r.Offset = p
			r.Kind = Kind(h >> 28)
			r.Seq = seq
			r.PC = pc
			r.ArgIdx = uint8(meta >> 56)
			r.Size = uint8(meta >> 48)
			r.Ptr = Canonical(meta & v1PtrMask)
			r.Values = w[p+HeaderWords : q : q]
			returns += int(h >> 28 & 1) // E or F
			maxWords = max(maxWords, l)
			expect = (seq + 1) & SeqMask
			p = q
			n++
		}
		if !gap {
			break
		}
		expect = d.noteGap(p, n, expect)
	}
	d.p = p
	d.lastPC, d.lastLen = lastPC, lastLen
	d.sum.ByKind[KindEntry] += n - returns
	d.sum.ByKind[KindReturn] += returns
	d.tookBatch(n, p-p0, maxWords, expect)
	return n
}

// expectSeq is the sequence number the record at p must have to follow
// the record before it without a gap: its own when there is no record
// right before it.
func (d *Decoder) expectSeq(p int) uint32 {
	if d.prevSeq >= 0 && d.prevEnd == p {
		return uint32(d.prevSeq+1) & SeqMask
	}
	return uint32(d.w[p]) & SeqMask
}

// noteGap notes that the record at p, the n-th of a batch, does not have
// the sequence number expect; it returns its own, to take it.
func (d *Decoder) noteGap(p, n int, expect uint32) uint32 {
	prev := int64(expect-1) & SeqMask
	if n == 0 {
		prev = d.prevSeq
	}
	seq := uint32(d.w[p]) & SeqMask
	d.note(Anomaly{Kind: AnomalySeqGap, Offset: p, Detail: fmt.Sprintf("sequence %d follows %d", seq, prev)})
	return seq
}

// tookBatch books n records of a fast path, words long in all; expect is
// the sequence number after the last.
func (d *Decoder) tookBatch(n, words, maxWords int, expect uint32) {
	if n == 0 {
		return
	}
	d.prevSeq = int64(expect-1) & SeqMask
	d.prevEnd = d.p
	d.sum.Records += n
	d.sum.RecordWords += words
	d.sum.MaxRecordWords = maxWords
}
