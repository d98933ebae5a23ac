// Package exporttest makes tasks for the tests of the export and query
// packages: traces from the kernel model, named by their layouts as
// kcovdf export names a trace given --layout.
package exporttest

import (
	"fmt"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/model"
)

// Sim simulates a task of 40 functions in a buffer of words.
func Sim(seed uint64, words int) (*export.Task, error) {
	cfg := model.DefaultSimConfig()
	cfg.Seed, cfg.Words, cfg.Functions = seed, words, 40
	res, err := model.Simulate(cfg)
	if err != nil {
		return nil, err
	}
	dropped := res.Dropped
	tr := &abi.Trace{Words: res.Area, Meta: abi.Meta{Format: abi.FormatV1, KernelRelease: "model", KASLROffset: abi.KnownKASLROffset(0),
		BufferWords: len(res.Area), Fill: res.Area[0], Overflowed: dropped > 0, Dropped: &dropped,
		Command: []string{"sim", fmt.Sprint(seed)}, Captured: time.Unix(1700000000, 0).UTC(), Source: "model"}}
	b, err := debuginfo.Layouts(nil, debuginfo.PluginLayout{Layout: res.Layout, Label: "sim"})
	if err != nil {
		return nil, err
	}
	sp := debuginfo.SpaceOf(&tr.Meta, nil)
	table, errs := b.Table(sp)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	nm := &calls.Namer{Space: sp, Layout: b}
	return export.NewTask(fmt.Sprintf("sim%d.kdf", seed), tr, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: len(res.Area)}, nm), nil
}
