package model

import "github.com/kcovdf/kcovdf/abi"

// TraceArgs is __sanitizer_cov_trace_args called by t: one entry record.
// offsets is the kernel address of the field table (num_fields pairs of
// u64 offset, u64 size).
func (t *Task) TraceArgs(pc uint64, argIdx, argSize uint32, argPtr, offsets uint64, numFields uint32) {
	meta := abi.V1Meta(abi.KindEntry, uint8(argIdx), argSize, argPtr)
	t.write(abi.KindEntry, pc, meta, argSize, argPtr, offsets, numFields)
}

// TraceRet is __sanitizer_cov_trace_ret called by t: one return record.
func (t *Task) TraceRet(pc uint64, retSize uint32, retPtr, offsets uint64, numFields uint32) {
	meta := abi.V1Meta(abi.KindReturn, 0, retSize, retPtr)
	t.write(abi.KindReturn, pc, meta, retSize, retPtr, offsets, numFields)
}

// write is the kernel's record writer (docs/records.md, write rules).
func (t *Task) write(k abi.Kind, pc, meta uint64, size uint32, ptr, offsets uint64, n uint32) {
	if t.inIRQ || t.inCallback || t.buf == nil || t.buf.closed.Load() {
		return
	}
	if t.fol.on {
		t.writeFollow(k, pc, meta, size, ptr, offsets, n)
		return
	}
	t.inCallback = true
	defer func() { t.inCallback = false }()

	area := t.buf.words
	words := uint64(abi.RecordWords(int(n)))
	// area[0] belongs to user space too, which may store anything in it.
	pos := area[0]
	if pos >= uint64(len(area)) || 1+pos+words > uint64(len(area)) {
		t.buf.dropped++
		return
	}
	t.seq++
	t.fill(area[1+pos:1+pos+words], k, pc, meta, size, ptr, offsets, n)
	// Publish the count after the words (WRITE_ONCE after the stores).
	area[0] = pos + words
	if t.OnRecord != nil {
		t.OnRecord(int(1+pos), int(words))
	}
}

// fill writes one record, numbered t.seq, into rec.
func (t *Task) fill(rec []uint64, k abi.Kind, pc, meta uint64, size uint32, ptr, offsets uint64, n uint32) {
	rec[0] = abi.V1Header(k, t.seq)
	rec[1] = pc
	rec[2] = meta
	mem := t.dev.Mem
	switch {
	case n == 0:
		var v uint64
		if ptr != 0 && !abi.IsErrPtr(ptr) {
			v, _ = mem.Read(ptr, min(int(min(size, abi.MaxSize)), 8))
		}
		rec[3] = v
	case abi.IsErrPtr(ptr):
		for i := range n {
			rec[3+i] = abi.BadAddr
		}
	default:
		for i := range uint64(n) {
			off, ok1 := mem.Read(offsets+16*i, 8)
			sz, ok2 := mem.Read(offsets+16*i+8, 8)
			if !ok1 || !ok2 {
				rec[3+i] = abi.BadAddr
				continue
			}
			v, _ := mem.Read(ptr+off, int(min(sz, 8)))
			rec[3+i] = v
		}
	}
}
