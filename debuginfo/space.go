package debuginfo

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
)

// Space maps the pcs of one trace to Index addresses: Link(pc) = pc -
// Slide. It is the only place that applies a KASLR offset.
type Space struct {
	Slide uint64
	// Known is false when the slide is an assumption; Note says which.
	Known bool
	Note  string
}

// Link turns a traced pc into an Index address.
func (s Space) Link(pc uint64) uint64 { return pc - s.Slide }

// Runtime turns an Index address into the traced boot's address.
func (s Space) Runtime(addr uint64) uint64 { return addr + s.Slide }

// SpaceOf decides the slide of a trace. The trace's KASLR offset wins;
// without one, symbols read from a randomised boot's kallsyms are taken
// to be that boot's (their own offset is the slide); otherwise the
// kernel is assumed not to be randomised.
func SpaceOf(meta *abi.Meta, ix *Index) Space {
	if meta != nil {
		if s, ok := meta.Slide(); ok {
			return Space{Slide: s, Known: true}
		}
	}
	if ix != nil && ix.Rebase != 0 && ix.TextSymbols {
		return Space{Slide: ix.Rebase, Note: fmt.Sprintf("trace has no KASLR offset: assuming %s is the traced boot's kallsyms (offset %#x)", ix.Path, ix.Rebase)}
	}
	return Space{Note: "trace has no KASLR offset: assuming the traced kernel was not randomised"}
}

// CheckBuildID compares the index's build id with the trace's; either
// being unknown is no error.
func CheckBuildID(meta *abi.Meta, ix *Index) error {
	if meta == nil || ix == nil {
		return nil // a raw area dump carries no build id
	}
	want := meta.BuildID
	if want == "" || ix.BuildID == "" || want == ix.BuildID {
		return nil
	}
	return fmt.Errorf("%s has build id %s, the traced kernel %s: %w", ix.Path, ix.BuildID, want, ErrBuildID)
}
