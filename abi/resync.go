package abi

// Re-synchronisation: v1 record lengths proven without a layout, from the
// chain of sequence numbers that follows a candidate boundary.

// plausible tells whether a v1 record with sequence seq (any when < 0) can
// start at j: a header, a pc in kernel text, a meta word of its kind, and
// room for one value.
func (d *Decoder) plausible(j int, seq int64) bool {
	w := d.w
	if j+HeaderWords+1 > d.end {
		return false
	}
	h := w[j]
	if !v1HeaderOK(h) || (seq >= 0 && h&SeqMask != uint64(seq)) {
		return false
	}
	return d.pcMetaOK(j)
}

// pcMetaOK tells whether the pc and meta words of a record at j are
// plausible: a pc in kernel text, an argument index in range (0 for
// returns).
func (d *Decoder) pcMetaOK(j int) bool {
	if pc := d.w[j+1]; pc < d.opt.PCMin || pc > d.opt.PCMax {
		return false
	}
	idx := d.w[j+2] >> 56
	if Kind(d.w[j]>>28&0xF) == KindReturn {
		return idx == 0
	}
	return idx < uint64(d.opt.MaxArgs)
}

// boundary tells whether a record with sequence seq can start at j, or
// the data ends there.
func (d *Decoder) boundary(j int, seq int64) bool {
	return j == d.end || d.plausible(j, seq)
}

// chain tells whether a plausible record at j leads through depth more
// records (or to the end of the data).
func (d *Decoder) chain(j int, seq int64, depth int) bool {
	if j == d.end {
		return true
	}
	if d.budget--; d.budget < 0 {
		return false // adversarial data: give up proving rather than spin
	}
	if !d.plausible(j, seq) {
		return false
	}
	if depth == 0 {
		return true
	}
	next := (seq + 1) & SeqMask
	h, pc, meta := d.w[j], d.w[j+1], d.w[j+2]
	// A length proven before for this (pc, kind, arg) is the only one a
	// real record can have.
	if n := d.learned.RecordLen(pc, Kind(h>>28), uint8(meta>>56)); n > 0 {
		return d.boundary(j+n, next) && d.chain(j+n, next, depth-1)
	}
	lim := min(d.end, j+HeaderWords+d.opt.MaxFields)
	found := false
	for k := j + HeaderWords + 1; k < lim+1 && k < d.end; k++ {
		if d.plausible(k, next) {
			found = true
			if d.chain(k, next, depth-1) {
				return true
			}
		}
	}
	// The end of the data ends a chain only when no header follows:
	// otherwise every look-alike near the tail would "reach" it.
	return !found && lim == d.end
}

// searchLen finds the length of the record at p without a layout: the
// length learnt for its (pc, kind, arg) when the next header confirms it,
// else the one candidate boundary that a chain of records confirms.
// It returns 0 when no single length can be proven.
func (d *Decoder) searchLen(p int) int {
	if d.learned == nil {
		d.learned = NewTable(1024)
	}
	w := d.w
	h, pc, meta := w[p], w[p+1], w[p+2]
	k, idx := Kind(h>>28), uint8(meta>>56)
	next := int64(h+1) & SeqMask
	// The learnt table only grows, and its blocks never move: the last
	// one looked up stays valid.
	if pc != d.learnPC || d.learnLen == nil {
		d.learnPC, d.learnLen = pc, d.learned.find(pc)
	}
	if b := d.learnLen; b != nil {
		i := int(idx)
		if k == KindReturn {
			i = retSlot
		}
		if n := int(b[i]); n > 0 && d.boundary(p+n, next) {
			return n
		}
	}
	d.budget = searchBudget
	d.cands = d.cands[:0]
	lim := min(d.end, p+HeaderWords+d.opt.MaxFields)
	for q := p + HeaderWords + 1; q <= lim && q < d.end; q++ {
		if d.plausible(q, next) {
			d.cands = append(d.cands, q)
		}
	}
	if len(d.cands) == 0 && lim == d.end && !d.anyHeader(p+HeaderWords+1) {
		// The last record: nothing that looks like a record follows.
		d.cands = append(d.cands, d.end)
	}
	if len(d.cands) > 1 {
		kept := d.cands[:0]
		for _, q := range d.cands {
			if d.chain(q, next, chainDepth) {
				kept = append(kept, q)
			}
		}
		d.cands = kept
	}
	if len(d.cands) != 1 {
		return 0
	}
	n := d.cands[0] - p
	d.learnLen = nil // the block may be new
	if d.learned.Set(pc, k, idx, n) != nil {
		// A length once proven differs: trust neither.
		return 0
	}
	return n
}

// reach adds to set every record start reachable from a plausible record
// at j within depth records.
func (d *Decoder) reach(j int, seq int64, depth int, set map[int]bool) {
	if set[j] || !d.boundary(j, seq) {
		return
	}
	if d.budget--; d.budget < 0 {
		return
	}
	set[j] = true
	if j == d.end || depth == 0 {
		return
	}
	next := (seq + 1) & SeqMask
	lim := min(d.end, j+HeaderWords+d.opt.MaxFields)
	found := false
	for k := j + HeaderWords + 1; k < lim+1 && k < d.end; k++ {
		if d.plausible(k, next) {
			found = true
			d.reach(k, next, depth-1, set)
		}
	}
	if !found && lim == d.end {
		set[d.end] = true
	}
}

// converge returns the first record start that every candidate in d.cands
// (all with sequence seq) reaches: the records before it cannot be told
// apart, those from it on can. It returns the end when there is none.
func (d *Decoder) converge(seq int64) int {
	d.budget = searchBudget
	var common map[int]bool
	for _, c := range d.cands {
		set := map[int]bool{}
		d.reach(c, seq, 2*chainDepth, set)
		if common == nil {
			common = set
			continue
		}
		for k := range common {
			if !set[k] {
				delete(common, k)
			}
		}
	}
	best := d.end
	for k := range common {
		if k > d.cands[len(d.cands)-1] && k < best {
			best = k
		}
	}
	return best
}

// anyHeader tells whether a plausible record of any sequence starts at or
// after j.
func (d *Decoder) anyHeader(j int) bool {
	for ; j < d.end; j++ {
		if v1HeaderOK(d.w[j]) && d.plausible(j, -1) {
			return true
		}
	}
	return false
}

// resyncFrom finds the first position from j where a record starts that a
// chain of records confirms, or the end.
func (d *Decoder) resyncFrom(j int) int {
	if d.learned == nil {
		d.learned = NewTable(1024)
	}
	for ; j < d.end; j++ {
		d.budget = searchBudget
		if v1HeaderOK(d.w[j]) && d.chain(j, int64(d.w[j]&SeqMask), chainDepth) {
			return j
		}
	}
	return d.end
}

// fastResync decodes, into the batch, the v1 records whose length was
// learnt before and that the next record confirms: what searchLen would
// accept first, without a call per record (see fastV1). It stops at
// anything else, which nextV1 then explains.
func (d *Decoder) fastResync() int {
	w := d.w[:d.end]
	p0 := d.p
	if p0+HeaderWords >= len(w) {
		return 0
	}
	expect := uint32(w[p0]) & SeqMask // the first record's own: tookBatch notes a gap
	batch := d.batch[:]
	learned := d.learned
	lastPC, lastLen := d.learnPC, d.learnLen
	opt := &d.opt
	p, n := p0, 0
	for n < len(batch) && p+HeaderWords < len(w) {
		// This head is fastV1's on purpose: shared, the one-entry cache
		// (lastPC, lastLen) would pass by pointer through a loop that must
		// keep it in registers.
		h, pc, meta := w[p], w[p+1], w[p+2]
		if !v1HeaderOK(h) {
			break
		}
		b := lastLen
		if pc != lastPC || b == nil {
			if b = learned.find(pc); b == nil {
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
		if l <= HeaderWords || q > len(w) {
			break
		}
		// The next record must be plausible with the next sequence number
		// (boundary and plausible, inlined).
		if q < len(w) {
			if q+HeaderWords >= len(w) {
				break
			}
			next := w[q : q+HeaderWords]
			nh, npc, nidx := next[0], next[1], next[2]>>56
			if !follows(nh, h) || npc < opt.PCMin || npc > opt.PCMax {
				break
			}
			if nh>>28 == uint64(KindReturn) {
				if nidx != 0 {
					break
				}
			} else if nidx >= uint64(opt.MaxArgs) {
				break
			}
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
	d.learnPC, d.learnLen = lastPC, lastLen
	d.tookBatch(n, p, expect)
	return n
}
