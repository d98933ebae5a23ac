package abi

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

// Options configure a Decoder.
type Options struct {
	Format Format
	// Table gives exact v1 record lengths (from a Layout); nil means
	// re-synchronise on sequence numbers.
	Table *Table
	// BufferWords is the buffer's size in words when known, to tell a
	// full buffer and a count past the buffer.
	BufferWords int
	// MaxFields bounds how far re-synchronisation looks for the next
	// header (default 1024 values).
	MaxFields int
	// PCMin and PCMax bound plausible pcs for re-synchronisation
	// (default: the x86-64 kernel text and module area).
	PCMin, PCMax uint64
	// MaxArgs bounds plausible argument indexes (default 64).
	MaxArgs int
}

const (
	defaultMaxFields = 1024
	defaultPCMin     = 0xffffffff80000000
	defaultPCMax     = 0xfffffffffeffffff
	defaultMaxArgs   = 64
	// chainDepth is how many following records a candidate boundary must
	// lead to before re-synchronisation trusts it.
	chainDepth = 3
	// searchBudget bounds the steps spent proving one boundary, so that
	// adversarial data cannot make the decoder explode.
	searchBudget = 1 << 14
)

// Decoder walks the records of one buffer. It never allocates per record:
// Record() returns the same struct, its Values aliasing the buffer.
type Decoder struct {
	opt     Options
	w       []uint64
	end     int // one past the last counted word
	p       int
	rec     Record   // filled by the general path
	batch   []Record // decoded records not yet returned: [bi, bn)
	bi, bn  int
	prevSeq int64 // -1 before the first record
	prevEnd int
	learned *Table // v1 lengths learnt while re-synchronising
	cands   []int
	budget  int // steps left to the current proof (chain, reach)
	// the last function looked up in opt.Table, and in learned
	lastPC, learnPC   uint64
	lastLen, learnLen *lengths
	sum               Summary
	done              bool
}

// NewDecoder starts decoding area (area[0] first). A FormatAuto option is
// resolved with DetectFormat.
func NewDecoder(area []uint64, opt Options) *Decoder {
	if opt.Format == FormatAuto {
		opt.Format = DetectFormat(area)
	}
	if opt.MaxFields <= 0 {
		opt.MaxFields = defaultMaxFields
	}
	if opt.PCMin == 0 && opt.PCMax == 0 {
		opt.PCMin, opt.PCMax = defaultPCMin, defaultPCMax
	}
	if opt.MaxArgs <= 0 {
		opt.MaxArgs = defaultMaxArgs
	}
	d := &Decoder{opt: opt, w: area, p: 1, prevSeq: -1, prevEnd: 1}
	d.sum = Summary{Format: opt.Format, AreaWords: len(area), BufferWords: opt.BufferWords}
	if len(area) == 0 {
		d.done = true
		return d
	}
	d.sum.Count = area[0]
	d.end = len(area)
	if opt.BufferWords > 0 && area[0] > uint64(opt.BufferWords-1) {
		d.note(Anomaly{Kind: AnomalyTornTail, Offset: 0, Detail: fmt.Sprintf("area[0] = %d counts past the buffer of %d words (at most %d)", area[0], opt.BufferWords, opt.BufferWords-1)})
	}
	if area[0] < uint64(len(area)-1) {
		d.end = int(area[0]) + 1
	} else if area[0] > uint64(len(area)-1) {
		d.note(Anomaly{Kind: AnomalyTornTail, Offset: len(area), Detail: fmt.Sprintf("area[0] = %d but only %d words follow; decoding those", area[0], len(area)-1)})
	}
	if opt.Format == FormatV1 && opt.Table == nil {
		d.learned = NewTable(1024)
	}
	return d
}

func (d *Decoder) note(a Anomaly) {
	d.sum.AnomalyCounts[a.Kind]++
	if len(d.sum.Anomalies) < maxKeptAnomalies {
		d.sum.Anomalies = append(d.sum.Anomalies, a)
	}
}

// Record is the record Next found; it stays valid until the next call.
func (d *Decoder) Record() *Record {
	if d.bi == 0 {
		return &d.rec // before the first Next: an empty record
	}
	return &d.batch[d.bi-1]
}

// Summary reports counts and anomalies; complete once Next returned false.
func (d *Decoder) Summary() *Summary { return &d.sum }

// batchSize is how many records the fast path decodes per refill: the
// loop then runs without a call per record, which is most of its cost.
const batchSize = 256

// Next decodes the next record; false at the end of the buffer.
func (d *Decoder) Next() bool {
	if d.bi < d.bn {
		d.bi++
		return true
	}
	return d.refill()
}

// refill decodes the next records into the batch: many at once on the
// exact v1 fast path, else one by the general path.
func (d *Decoder) refill() bool {
	if d.done {
		return false
	}
	if d.batch == nil {
		d.batch = make([]Record, batchSize)
	}
	d.bi, d.bn = 0, 0
	if t := d.opt.Table; t != nil && d.opt.Format == FormatV1 {
		if d.bn = d.fastV1(t); d.bn > 0 {
			d.bi = 1
			return true
		}
	}
	var ok bool
	switch d.opt.Format {
	case FormatV2:
		ok = d.nextV2()
	case FormatV3:
		ok = d.nextV3()
	default:
		ok = d.nextV1()
	}
	if !ok {
		d.finish()
		return false
	}
	d.accept()
	d.batch[0] = d.rec
	d.bi, d.bn = 1, 1
	return true
}

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

// accept books the record just filled in.
func (d *Decoder) accept() {
	r := &d.rec
	n := r.Words()
	d.sum.Records++
	d.sum.ByKind[r.Kind]++
	d.sum.RecordWords += n
	if n > d.sum.MaxRecordWords {
		d.sum.MaxRecordWords = n
	}
	if d.prevSeq >= 0 && d.prevEnd == r.Offset && uint32(d.prevSeq+1)&SeqMask != r.Seq {
		d.note(Anomaly{Kind: AnomalySeqGap, Offset: r.Offset, Detail: fmt.Sprintf("sequence %d follows %d", r.Seq, d.prevSeq)})
	}
	d.prevSeq = int64(r.Seq)
	d.prevEnd = r.Offset + n
}

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

// ---- v1 ----

func (d *Decoder) nextV1() bool {
	w, end := d.w, d.end
	for d.p < end {
		p := d.p
		if end-p < HeaderWords+1 {
			d.tornRecord(p)
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
					if q == end || (q < end && follows(w[q], h)) {
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

func (d *Decoder) tornRecord(p int) {
	d.note(Anomaly{Kind: AnomalyTornRecord, Offset: p, Words: d.end - p, Detail: fmt.Sprintf("the last %d counted words do not hold a whole record", d.end-p)})
	d.sum.Unattributed += d.end - p
	d.p = d.end
}

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
		d.learnPC, d.learnLen = pc, d.learned.block(pc, false)
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

// ---- v2 ----

func v2HeaderOK(w uint64) bool {
	return w&^(0xF<<28|0xF<<24|SeqMask) == 0 && (w>>28 == uint64(KindEntry) || w>>28 == uint64(KindReturn))
}

func (d *Decoder) nextV2() bool {
	w, end := d.w, d.end
	for d.p < end {
		p := d.p
		if end-p < HeaderWords+1 {
			d.tornRecord(p)
			return false
		}
		h := w[p]
		if v2HeaderOK(h) {
			n := int(h >> 24 & 0xF)
			if n == 0 {
				n = 1
			}
			next := (h + 1) & SeqMask
			// A count above 15 wraps: try the lengths it may stand for.
			for extra := 0; p+HeaderWords+n+extra <= end && extra <= d.opt.MaxFields; extra += 16 {
				q := p + HeaderWords + n + extra
				if d.v2Boundary(q, next, 2) {
					if extra > 0 {
						d.note(Anomaly{Kind: AnomalyCountOverflow, Offset: p, Detail: fmt.Sprintf("header counts %d values, the next header proves %d", n, n+extra)})
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
	n := max(int(d.w[q]>>24&0xF), 1)
	for extra := 0; q+HeaderWords+n+extra <= d.end && extra <= d.opt.MaxFields; extra += 16 {
		if d.v2Boundary(q+HeaderWords+n+extra, (seq+1)&SeqMask, depth-1) {
			return true
		}
	}
	return false
}

// ---- v3 ----

// v3 header fields.
func v3Kind(h uint64) Kind           { return Kind(h >> 28 & 0xF) }
func v3Count(h uint64) int           { return int(h >> 32 & 0xFFFF) }
func v3HeaderOK(h uint64) bool       { return h>>24&0xF == 0 }
func v3KnownKind(k Kind) bool        { return k == KindEntry || k == KindReturn || k == KindCompare }
func v3Size(h uint64) uint8          { return uint8(h >> 48) }
func v3ArgIdx(h uint64) uint8        { return uint8(h >> 56) }
func v3Seq(h uint64) uint32          { return uint32(h & SeqMask) }
func v3Len(h uint64) int             { return HeaderWords + v3Count(h) }
func v3Fits(h uint64, room int) bool { return v3Len(h) <= room }

func (d *Decoder) nextV3() bool {
	w, end := d.w, d.end
	for d.p < end {
		p := d.p
		if end-p < HeaderWords {
			d.tornRecord(p)
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
		r := &d.rec
		r.Offset, r.Kind, r.Seq = p, v3Kind(h), v3Seq(h)
		r.PC, r.Ptr = w[p+1], w[p+2]
		r.Size, r.ArgIdx = v3Size(h), v3ArgIdx(h)
		r.Values = w[p+HeaderWords : q : q]
		d.p = q
		return true
	}
	return false
}

// DetectFormat guesses the layout of an area from its first records:
// v3 headers carry a count in bits 32–47, v2 headers one in bits 24–27,
// v1 headers neither. An empty area is v1.
func DetectFormat(area []uint64) Format {
	if len(area) < 2 || area[0] == 0 {
		return FormatV1
	}
	h := area[1]
	switch {
	case h>>32 != 0 && v3HeaderOK(h):
		return FormatV3
	case h>>24&0xF != 0 && h>>32 == 0:
		return FormatV2
	}
	return FormatV1
}
