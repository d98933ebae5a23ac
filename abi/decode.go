package abi

// The Decoder: options, the batch behind Next, and format detection.

import (
	"fmt"
)

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
	opt Options
	w   []uint64
	end int // one past the last counted word
	p   int
	rec Record // filled by the general path
	// batch holds decoded records, those not yet returned at [bi, bn);
	// an array of 256 so that a uint8 index needs no bounds check.
	batch   [batchSize]Record
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
	slow              bool // tests: the general path only
}

// NewDecoder starts decoding area (area[0] first). A FormatAuto option is
// resolved with DetectFormat.
func NewDecoder(area []uint64, opt Options) *Decoder {
	d := &Decoder{}
	d.start(area, opt)
	return d
}

// start (re)starts d on area. A decoder restarted keeps the v1 lengths it
// learnt: they belong to the kernel, not to one buffer.
func (d *Decoder) start(area []uint64, opt Options) {
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
	d.opt, d.w, d.p, d.prevSeq, d.prevEnd = opt, area, 1, -1, 1
	d.bi, d.bn, d.done, d.cands, d.budget = 0, 0, false, d.cands[:0], 0
	d.sum = Summary{Format: opt.Format, AreaWords: len(area), BufferWords: opt.BufferWords}
	if len(area) == 0 {
		d.done = true
		return
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
	if opt.Format == FormatV1 && opt.Table == nil && d.learned == nil {
		d.learned = NewTable(1024)
	}
}

// Record is the record Next found; it stays valid until the next call.
func (d *Decoder) Record() *Record {
	// Before the first Next, batch[255]: an empty record.
	return &d.batch[uint8(d.bi-1)]
}

// Summary reports counts and anomalies; complete once Next returned false.
func (d *Decoder) Summary() *Summary { return &d.sum }

// batchSize is how many records the fast path decodes per refill: the
// loop then runs without a call per record, which is most of its cost.
const batchSize = 256

// Record indexes the batch with a uint8: it must hold exactly 256.
var _ = [1]struct{}{}[batchSize-256]

// Next decodes the next record; false at the end of the buffer.
func (d *Decoder) Next() bool {
	if d.bi < d.bn {
		d.bi++
		return true
	}
	return d.refill()
}

// refill decodes the next records into the batch: many at once on a fast
// path (exact v1, v1 with learnt lengths, v3), else one by the general
// path.
func (d *Decoder) refill() bool {
	if d.done {
		return false
	}
	d.bi, d.bn = 0, 0
	switch f := d.opt.Format; {
	case d.slow:
	case f == FormatV1 && d.opt.Table != nil:
		d.bn = d.fastV1(d.opt.Table)
	case f == FormatV1 && d.learned != nil:
		d.bn = d.fastResync()
	case f == FormatV3:
		d.bn = d.fastV3()
	}
	if d.bn > 0 {
		d.bi = 1
		return true
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
