package abi

// The exact v1 fast path: records whose length the table knows, in batches.

import "fmt"

// fastV1 decodes, into the batch, the records of an exact v1 decode whose
// length the table knows and that are followed by a header or the end. It
// stops at anything else, which nextV1 then explains.
func (d *Decoder) fastV1(t *Table) int {
	w := d.w[:d.end]
	p := d.p
	batch := d.batch
	lastPC, lastLen := d.lastPC, d.lastLen
	prevSeq, prevEnd := d.prevSeq, d.prevEnd
	words, maxWords := 0, d.sum.MaxRecordWords
	n, entries := 0, 0
	for n < len(batch) && p+HeaderWords < len(w) {
		h, pc, meta := w[p], w[p+1], w[p+2]
		if !v1HeaderOK(h) {
			break
		}
		// A function's entry records come in a row: remember the last one.
		b := lastLen
		if pc != lastPC || b == nil {
			if b = t.block(pc, false); b == nil {
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
		if prevSeq >= 0 && prevEnd == p && uint32(prevSeq+1)&SeqMask != seq {
			d.note(Anomaly{Kind: AnomalySeqGap, Offset: p, Detail: fmt.Sprintf("sequence %d follows %d", seq, prevSeq)})
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
		if h>>28 == uint64(KindEntry) {
			entries++
		}
		words += l
		maxWords = max(maxWords, l)
		prevSeq, prevEnd = int64(seq), q
		p = q
		n++
	}
	d.p = p
	d.lastPC, d.lastLen = lastPC, lastLen
	d.prevSeq, d.prevEnd = prevSeq, prevEnd
	d.sum.Records += n
	d.sum.ByKind[KindEntry] += entries
	d.sum.ByKind[KindReturn] += n - entries
	d.sum.RecordWords += words
	d.sum.MaxRecordWords = maxWords
	return n
}
