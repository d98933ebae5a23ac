package calltest

import (
	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
)

// Entry is the entry record of argument idx of the function at pc: one
// scalar, or the fields of a struct.
func Entry(pc uint64, idx, size uint8, v ...uint64) abi.Record {
	return abi.Record{Kind: abi.KindEntry, PC: pc, ArgIdx: idx, Size: size, Values: v}
}

// PtrEntry is the entry record of a struct pointer argument at ptr whose
// fields were read.
func PtrEntry(pc uint64, idx uint8, ptr uint64, fields ...uint64) abi.Record {
	return abi.Record{Kind: abi.KindEntry, PC: pc, ArgIdx: idx, Size: 8, Ptr: ptr, Values: fields}
}

// Return is the return record of the function at pc.
func Return(pc uint64, size uint8, v uint64) abi.Record {
	return abi.Record{Kind: abi.KindReturn, PC: pc, Size: size, Values: []uint64{v}}
}

// Area encodes records as a v2 buffer, numbering them from 1.
func Area(recs ...abi.Record) []uint64 {
	w := []uint64{0}
	for i := range recs {
		r := recs[i]
		r.Seq = uint32(i + 1)
		w = abi.EncodeV2(w, &r)
	}
	w[0] = uint64(len(w) - 1)
	return w
}

// Build groups the records of a v2 area into calls; any pc is plausible.
func Build(area []uint64) *calls.Tree {
	return calls.Build(area, abi.NewDecoder(area, abi.Options{Format: abi.FormatV2, PCMin: 1, PCMax: ^uint64(0)}), calls.Options{})
}
