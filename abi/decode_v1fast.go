package abi

// The exact v1 fast path: records whose length the table knows, in batches.

import "fmt"

// fastV1 decodes, into the batch, the records of an exact v1 decode whose
// length the table knows and that are followed by a header or the end. It
// stops at anything else, which nextV1 then explains.
//
// The loop makes no call, not even a cold one, and keeps few values in
// registers: a call anywhere in it, or more values than registers, makes
// the compiler spill on every record. So the table lookup is inlined, the
// batch ends before a sequence gap (the next one starts with it and notes
// it), the counters stay in memory, and the words in records are counted
// once at the end (the records of one batch are contiguous).
func (d *Decoder) fastV1(t *Table) int {
	w := d.w[:d.end]
	p0 := d.p
	if p0+HeaderWords >= len(w) {
		return 0
	}
	expect := uint32(w[p0]) & SeqMask // the first record's own: tookBatch notes a gap
	batch := d.batch[:]
	lastPC, lastLen := d.lastPC, d.lastLen
	p, n := p0, 0
	for n < len(batch) && p+HeaderWords < len(w) {
		h, pc, meta := w[p], w[p+1], w[p+2]
		if !v1HeaderOK(h) {
			break
		}
		// A function's entry records come in a row: remember the last one.
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
			break
		}
		// Filled here, not by setV1: through the setter the compiler
		// spills the header and reloads it on every record.
		r := &batch[n]
		r.Offset = p
		r.Kind = Kind(h >> 28)
		r.Seq = seq
		r.PC = pc
		r.ArgIdx = uint8(meta >> 56)
		r.Size = uint8(meta >> 48)
		r.Ptr = Canonical(meta & v1PtrMask)
		r.Values = w[p+HeaderWords : q : q]
		d.sum.ByKind[h>>28]++
		if l > d.sum.MaxRecordWords {
			d.sum.MaxRecordWords = l
		}
		expect = (seq + 1) & SeqMask
		p = q
		n++
	}
	d.lastPC, d.lastLen = lastPC, lastLen
	d.tookBatch(n, p, expect)
	return n
}

// tookBatch books the n records a fast path put in the batch, which end at
// p, and notes a sequence gap before the first (the loops take the first
// record with whatever number it has, and end before any other gap);
// expect is the sequence number after the last.
func (d *Decoder) tookBatch(n, p int, expect uint32) {
	if n == 0 {
		return
	}
	if seq := uint32(d.w[d.p]) & SeqMask; d.prevSeq >= 0 && d.prevEnd == d.p && uint32(d.prevSeq+1)&SeqMask != seq {
		d.note(Anomaly{Kind: AnomalySeqGap, Offset: d.p, Detail: fmt.Sprintf("sequence %d follows %d", seq, d.prevSeq)})
	}
	d.sum.Records += n
	d.sum.RecordWords += p - d.p
	d.prevSeq = int64(expect-1) & SeqMask
	d.prevEnd = p
	d.p = p
}
