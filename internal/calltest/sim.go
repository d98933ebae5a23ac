// Package calltest builds call trees for the tests and benchmarks of the
// analyses that run over them: from records written by hand, or from a
// simulated trace with its layout.
package calltest

import (
	"fmt"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/model"
)

// Sim is one simulated trace with its layout.
type Sim struct {
	Area   []uint64
	Layout *abi.Layout
	Table  *abi.Table
	Namer  *calls.Namer
}

// New simulates a full buffer of words words.
func New(words int, seed uint64) (*Sim, error) {
	cfg := model.DefaultSimConfig()
	cfg.Words, cfg.Seed = words, seed
	res, err := model.Simulate(cfg)
	if err != nil {
		return nil, err
	}
	table, errs := abi.TableFromLayout(res.Layout, 0)
	if len(errs) > 0 {
		return nil, fmt.Errorf("simulated layout: %v", errs[0])
	}
	b, err := debuginfo.Layouts(nil, debuginfo.PluginLayout{Layout: res.Layout, Label: "sim"})
	if err != nil {
		return nil, err
	}
	return &Sim{Area: res.Area, Layout: res.Layout, Table: table, Namer: &calls.Namer{Layout: b}}, nil
}

// Tree groups area (the simulation's, or an edited copy with the same
// layout) into calls.
func (s *Sim) Tree(area []uint64) *calls.Tree {
	d := abi.NewDecoder(area, abi.Options{Format: abi.FormatV1, Table: s.Table, BufferWords: len(area)})
	return calls.Build(area, d, calls.Options{Markers: true})
}

// Edited is a copy of the simulation's records with every nth value word
// changed and every nth leaf call left out, renumbered and encoded again:
// a second run that mostly agrees with the first.
func (s *Sim) Edited(n int) []uint64 {
	d := abi.NewDecoder(s.Area, abi.Options{Format: abi.FormatV1, Table: s.Table, BufferWords: len(s.Area)})
	var recs []abi.Record
	for d.Next() {
		r := *d.Record()
		r.Values = append([]uint64(nil), r.Values...)
		recs = append(recs, r)
	}
	w := []uint64{0}
	seq, values, leaves := uint32(0), 0, 0
	for i := 0; i < len(recs); i++ {
		r := recs[i]
		// A leaf: its entries, then its return, nothing between.
		if r.Kind == abi.KindEntry && r.ArgIdx == 0 {
			j := i
			for j+1 < len(recs) && recs[j+1].Kind == abi.KindEntry && recs[j+1].PC == r.PC && recs[j+1].ArgIdx > recs[j].ArgIdx {
				j++
			}
			if j+1 < len(recs) && recs[j+1].Kind == abi.KindReturn && recs[j+1].PC == r.PC {
				if leaves++; leaves%n == 0 {
					i = j + 1
					continue
				}
			}
		}
		for k := range r.Values {
			if values++; values%n == 0 {
				r.Values[k]++
			}
		}
		seq++
		r.Seq = seq
		w = abi.EncodeV1(w, &r)
	}
	w[0] = uint64(len(w) - 1)
	return w
}
