package report

import (
	"fmt"
	"path/filepath"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/model"
)

// simTask simulates a capture of words words and names its calls by the
// simulation's layout, as "kcovdf show --layout" would.
func simTask(words int, seed uint64) (Task, error) {
	cfg := model.DefaultSimConfig()
	cfg.Words, cfg.Seed = words, seed
	res, err := model.Simulate(cfg)
	if err != nil {
		return Task{}, err
	}
	meta := &abi.Meta{Format: abi.FormatV1, BufferWords: len(res.Area), Fill: res.Area[0], Command: []string{"sim", fmt.Sprint(seed)}, Source: "model"}
	return layoutTask(fmt.Sprintf("sim-%d", seed), meta, res.Area, res.Layout)
}

// layoutTask builds the named tree of a v1 area with a plugin layout.
func layoutTask(name string, meta *abi.Meta, area []uint64, l *abi.Layout) (Task, error) {
	b, err := debuginfo.Layouts(nil, debuginfo.PluginLayout{Layout: l, Label: "layout"})
	if err != nil {
		return Task{}, err
	}
	sp := debuginfo.SpaceOf(meta, nil)
	table, errs := b.Table(sp)
	if len(errs) > 0 {
		return Task{}, errs[0]
	}
	d := abi.NewDecoder(area, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: len(area)})
	tree := calls.Build(area, d, calls.Options{Full: meta.Overflowed})
	return Task{Name: name, Meta: meta, Tree: tree, Namer: &calls.Namer{Space: sp, Layout: b}}, nil
}

// fileTask loads a trace file and its layout the way the CLI does.
func fileTask(trace, layout string) (Task, error) {
	tr, err := abi.LoadTrace(trace)
	if err != nil {
		return Task{}, err
	}
	l, err := abi.LoadLayout(layout)
	if err != nil {
		return Task{}, err
	}
	return layoutTask(filepath.Base(trace), &tr.Meta, tr.Words, l)
}

// vmlinuxTask loads a trace and names it with the traced kernel's
// vmlinux: its symbols and DWARF, and the layout records the compiler
// plugin left in it, as "kcovdf show --symbols" does.
func vmlinuxTask(trace, vmlinux string) (Task, error) {
	tr, err := abi.LoadTrace(trace)
	if err != nil {
		return Task{}, err
	}
	ix, err := debuginfo.Open(vmlinux, debuginfo.Options{})
	if err != nil {
		return Task{}, err
	}
	if err := debuginfo.CheckBuildID(&tr.Meta, ix); err != nil {
		return Task{}, err
	}
	sp := debuginfo.SpaceOf(&tr.Meta, ix)
	l, err := abi.LoadLayout(vmlinux)
	if err != nil {
		return Task{}, err
	}
	maxFields, _ := l.Cap()
	b, err := debuginfo.Layouts(ix, debuginfo.PluginLayout{Layout: l, Label: vmlinux}, debuginfo.DWARFLayout{MaxFields: maxFields})
	if err != nil {
		return Task{}, err
	}
	table, _ := b.Table(sp)
	d := abi.NewDecoder(tr.Words, abi.Options{Format: tr.Meta.Format, Table: table, BufferWords: tr.Meta.BufferWords})
	tree := calls.Build(tr.Words, d, calls.Options{Full: tr.Meta.Overflowed})
	return Task{Name: filepath.Base(trace), Meta: &tr.Meta, Tree: tree, Namer: &calls.Namer{Index: ix, Space: sp, Layout: b}}, nil
}
