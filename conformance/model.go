package conformance

import (
	"errors"

	"github.com/kcovdf/kcovdf/model"
)

// Model is the executable model as a Target.
type Model struct{ dev *model.Device }

// NewModel returns a fresh model device.
func NewModel() *Model { return &Model{dev: model.NewDevice(nil)} }

func (m *Model) Name() string      { return "model" }
func (m *Model) ClassicKcov() bool { return false }

func (m *Model) Open() (File, error) { return modelFile{m.dev.Open()}, nil }

func (m *Model) OpenReadOnly() (File, error) { return modelFile{m.dev.OpenReadOnly()}, nil }

func (m *Model) NewTask() (Task, error) { return &modelTask{dev: m.dev, t: m.dev.NewTask()}, nil }

type modelTask struct {
	dev *model.Device
	t   *model.Task
}

// Work stands for syscalls: each one enters two instrumented functions
// and returns from them.
func (k *modelTask) Work(n int) error {
	const pc = 0xffffffff81100000
	for i := range n {
		k.t.TraceArgs(pc, 0, 4, 0, 0, 0)
		k.t.TraceArgs(pc+0x40, 0, 8, 0, 0, 0)
		k.t.TraceRet(pc+0x40, 8, 0, 0, 0)
		k.t.TraceRet(pc, 4, uint64(i), 0, 0)
		k.t.ReturnToUser()
	}
	return nil
}

func (k *modelTask) ForkWork() error {
	child := k.t.Fork()
	(&modelTask{dev: k.dev, t: child}).Work(10)
	child.Exit()
	return nil
}

func (k *modelTask) ClassicKcov() (int, error) { return 0, errors.ErrUnsupported }

func (k *modelTask) Exit() { k.t.Exit() }

type modelFile struct{ f *model.File }

func (f modelFile) Ioctl(t Task, cmd uint32, arg uint64) (uint64, error) {
	return f.f.Ioctl(t.(*modelTask).t, cmd, arg)
}

func (f modelFile) Mmap(off, length uint64, shared bool) ([]uint64, error) {
	return f.f.Mmap(off, length, shared)
}

func (f modelFile) MmapRead(off, length uint64) ([]uint64, error) {
	return f.f.MmapProt(off, length, true, false)
}

func (f modelFile) Close(t Task) error { return f.f.Close(t.(*modelTask).t) }

func (k *modelTask) Tid() int { return k.t.ID }

func (k *modelTask) Fork() (TreeTask, error) { return &modelTask{dev: k.dev, t: k.t.Fork()}, nil }

func (k *modelTask) Thread() (TreeTask, error) { return &modelTask{dev: k.dev, t: k.t.Thread()}, nil }

func (k *modelTask) Exec(comm string) error { k.t.Exec(comm); return nil }
