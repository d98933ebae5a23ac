package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/kcovdf/kcovdf/abi"
)

// SimConfig shapes a synthetic workload: a call graph of instrumented
// functions with scalar, struct-pointer and by-value struct parameters,
// run by one traced task into one buffer.
type SimConfig struct {
	Seed      uint64
	Words     int // buffer size in words (default 65536)
	Functions int // synthetic functions (default 300)
	// Calls is the number of top-level calls (syscalls); 0 runs until the
	// buffer is full and a few records were dropped.
	Calls    int
	MaxDepth int // call nesting (default 6)
	// Rates, each a probability per value or per call.
	Lookalike float64 // values that imitate headers, pcs and meta words
	Fault     float64 // struct pointers into unmapped memory
	ErrPtr    float64 // ERR_PTR struct pointers
	Null      float64 // NULL struct pointers
	IRQ       float64 // interrupts during a call (never recorded)
}

// DefaultSimConfig is a realistic mix.
func DefaultSimConfig() SimConfig {
	return SimConfig{Seed: 1, Words: 1 << 16, Functions: 300, MaxDepth: 6,
		Lookalike: 0.05, Fault: 0.02, ErrPtr: 0.02, Null: 0.03, IRQ: 0.01}
}

// Span is where one written record lies in the area.
type Span struct{ Offset, Words int }

// SimResult is a simulated capture with its ground truth.
type SimResult struct {
	Area    []uint64
	Layout  *abi.Layout
	Truth   []Span // every record written, in order
	Dropped uint64
	Calls   int
}

// Synthetic address space of the simulation.
const (
	simText   = 0xffffffff81000000
	simRodata = 0xffffffff82400000
	simStack  = 0xffffc90000400000
	simHeap   = 0xffff888004000000
	simHole   = 0xffff888104000000 // never mapped: reads fault
	simStackN = 64 << 10
)

type simStruct struct {
	name   string
	fields []abi.Field
	size   uint64
	table  uint64 // address of its field table
}

type simParam struct {
	kind  int // 0 scalar, 1 struct pointer, 2 by-value struct
	size  uint32
	st    *simStruct
	name  string
	ctype string
}

type simFunc struct {
	name    string
	pc      uint64
	params  []simParam
	ret     simParam
	void    bool
	callees []int
}

type sim struct {
	cfg     SimConfig
	rng     *rand.Rand
	dev     *Device
	task    *Task
	structs []*simStruct
	funcs   []*simFunc
	heap    uint64
	sp      uint64
}

var simNames = []string{"vfs", "do_sys", "ksys", "filp", "path", "dentry", "inode", "folio", "kmem", "copy", "sock", "tcp", "pipe", "file", "mnt", "task", "sig", "futex", "mm", "vma"}
var simVerbs = []string{"open", "read", "write", "lookup", "alloc", "free", "get", "put", "init", "release", "walk", "map", "fill", "check", "update"}

// Simulate runs a workload and returns the buffer, the layout of the
// synthetic functions and the ground truth.
func Simulate(cfg SimConfig) (*SimResult, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := newSim(cfg)
	res := &SimResult{Layout: s.layout()}
	s.task = s.dev.NewTask()
	s.task.OnRecord = func(off, n int) { res.Truth = append(res.Truth, Span{off, n}) }
	f := s.dev.Open()
	if _, err := f.Ioctl(s.task, abi.IoctlInitTrace, uint64(cfg.Words)); err != nil {
		return nil, fmt.Errorf("sim: INIT_TRACE: %v", err)
	}
	if _, err := f.Ioctl(s.task, abi.IoctlEnable, 0); err != nil {
		return nil, fmt.Errorf("sim: ENABLE: %v", err)
	}
	area := f.buf.words
	s.dev.Mem.Map(simStack, simStackN)
	for {
		if cfg.Calls > 0 && res.Calls >= cfg.Calls {
			break
		}
		if cfg.Calls == 0 && f.buf.dropped >= 16 {
			break
		}
		s.sp = simStack + simStackN
		s.call(s.rng.IntN(len(s.funcs)), 0)
		res.Calls++
	}
	res.Dropped, _ = f.Ioctl(s.task, abi.IoctlGetDropped, 0)
	if _, err := f.Ioctl(s.task, abi.IoctlDisable, 0); err != nil {
		return nil, fmt.Errorf("sim: DISABLE: %v", err)
	}
	res.Area = area
	return res, nil
}

// fill sets the sizes left 0 to the defaults and checks the buffer's.
func (cfg *SimConfig) fill() error {
	def := DefaultSimConfig()
	if cfg.Words == 0 {
		cfg.Words = def.Words
	}
	if cfg.Functions == 0 {
		cfg.Functions = def.Functions
	}
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = def.MaxDepth
	}
	if cfg.Words < abi.MinWords || cfg.Words > abi.MaxWords {
		return fmt.Errorf("sim: buffer of %d words is outside %d..%d", cfg.Words, abi.MinWords, abi.MaxWords)
	}
	return nil
}

// newSim builds the call graph of cfg on a new device.
func newSim(cfg SimConfig) *sim {
	s := &sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), dev: NewDevice(nil), heap: simHeap}
	s.build()
	return s
}

func (s *sim) build() {
	rng := s.rng
	mem := s.dev.Mem
	table := uint64(simRodata)
	nstructs := max(8, s.cfg.Functions/8)
	for i := range nstructs {
		st := &simStruct{name: fmt.Sprintf("%s_%s_%d", simNames[rng.IntN(len(simNames))], "state", i)}
		// Mostly small structs, some past v2's 15-value limit.
		n := 1 + rng.IntN(8)
		if rng.IntN(5) == 0 {
			n = 9 + rng.IntN(32)
		}
		var off uint64
		for j := range n {
			var size uint64
			switch rng.IntN(10) {
			case 0:
				size = 16 + 8*uint64(rng.IntN(4)) // array or nested struct
			case 1:
				size = 0 // zero-size member, skipped by the plugin
			default:
				size = 1 << rng.IntN(4)
			}
			if size == 0 {
				continue
			}
			al := min(size, 8)
			off = (off + al - 1) &^ (al - 1)
			st.fields = append(st.fields, abi.Field{Name: fmt.Sprintf("f%d", j), Off: off, Size: size})
			off += size
		}
		if len(st.fields) == 0 {
			st.fields = append(st.fields, abi.Field{Name: "f0", Off: 0, Size: 8})
			off = 8
		}
		st.size = (off + 7) &^ 7
		st.table = table
		for j, fd := range st.fields {
			mem.WriteU64(table+16*uint64(j), fd.Off)
			mem.WriteU64(table+16*uint64(j)+8, fd.Size)
		}
		table += 16 * uint64(len(st.fields))
		s.structs = append(s.structs, st)
	}
	pc := uint64(simText)
	for i := range s.cfg.Functions {
		f := &simFunc{name: fmt.Sprintf("%s_%s_%d", simNames[rng.IntN(len(simNames))], simVerbs[rng.IntN(len(simVerbs))], i), pc: pc}
		pc += 16 * uint64(4+rng.IntN(200))
		np := rng.IntN(5)
		if rng.IntN(12) == 0 {
			np = 7 + rng.IntN(5) // more than ftrace's six
		}
		if rng.IntN(10) == 0 {
			np = 0
		}
		for j := range np {
			f.params = append(f.params, s.param(fmt.Sprintf("a%d", j)))
		}
		f.void = rng.IntN(4) == 0
		if !f.void {
			f.ret = s.param("ret")
			if f.ret.kind == 2 {
				f.ret = simParam{kind: 0, size: 8, ctype: "long"}
			}
		}
		for range rng.IntN(4) {
			if i+1 < s.cfg.Functions {
				f.callees = append(f.callees, i+1+rng.IntN(s.cfg.Functions-i-1))
			}
		}
		s.funcs = append(s.funcs, f)
	}
}

func (s *sim) param(name string) simParam {
	switch r := s.rng.IntN(10); {
	case r < 6:
		size := uint32(1) << s.rng.IntN(4)
		return simParam{kind: 0, size: size, name: name, ctype: fmt.Sprintf("u%d", 8*size)}
	case r < 9:
		st := s.structs[s.rng.IntN(len(s.structs))]
		return simParam{kind: 1, size: 8, st: st, name: name, ctype: "struct " + st.name + " *"}
	default:
		st := s.structs[s.rng.IntN(len(s.structs))]
		return simParam{kind: 2, size: uint32(st.size), st: st, name: name, ctype: "struct " + st.name}
	}
}

func (s *sim) layout() *abi.Layout {
	l := &abi.Layout{}
	for _, f := range s.funcs {
		fs := abi.FuncShape{Func: f.name, File: "sim/sim.c", PC: fmt.Sprintf("%#x", f.pc), Args: []abi.ArgShape{}}
		if len(f.params) == 0 {
			fs.Args = append(fs.Args, abi.ArgShape{Idx: 0, Size: 0, Marker: true, Fields: []abi.Field{}})
		}
		for i, p := range f.params {
			fs.Args = append(fs.Args, abi.ArgShape{Idx: i, Size: int(min(p.size, abi.MaxSize)), Name: p.name, Type: p.ctype, Struct: p.structName(), Fields: p.fields()})
		}
		r := &abi.RetShape{Size: 0, Type: "void", Fields: []abi.Field{}}
		if !f.void {
			r = &abi.RetShape{Size: int(f.ret.size), Type: f.ret.ctype, Struct: f.ret.structName(), Fields: f.ret.fields()}
		}
		fs.Ret = r
		l.Add(fs)
	}
	return l
}

func (p *simParam) structName() string {
	if p.st == nil {
		return ""
	}
	return p.st.name
}

func (p *simParam) fields() []abi.Field {
	if p.st == nil {
		return []abi.Field{}
	}
	return p.st.fields
}

// value draws a value, sometimes one that imitates a record word.
func (s *sim) value() uint64 {
	if s.rng.Float64() < s.cfg.Lookalike {
		return s.lookalike()
	}
	switch s.rng.IntN(4) {
	case 0:
		return uint64(s.rng.IntN(256))
	case 1:
		return s.rng.Uint64()
	case 2:
		return uint64(s.rng.Uint32())
	}
	return simHeap + uint64(s.rng.IntN(1<<20))*8
}

// lookalike imitates a header of an upcoming record, a pc or a meta word.
func (s *sim) lookalike() uint64 {
	switch s.rng.IntN(3) {
	case 0:
		k := uint64(abi.KindEntry)
		if s.rng.IntN(2) == 0 {
			k = uint64(abi.KindReturn)
		}
		return k<<28 | uint64(s.task.seq+1+uint32(s.rng.IntN(3)))&abi.SeqMask
	case 1:
		return s.funcs[s.rng.IntN(len(s.funcs))].pc
	}
	return abi.V1Meta(abi.KindEntry, uint8(s.rng.IntN(4)), 8, simStack+uint64(s.rng.IntN(1<<12)))
}

// instance makes a struct in the heap and fills it; sometimes it hides a
// whole fake record header (header, pc, meta) in consecutive fields.
func (s *sim) instance(st *simStruct) uint64 {
	addr := s.heap
	s.heap += (st.size + 15) &^ 15
	mem := s.dev.Mem
	mem.Map(addr, st.size)
	fake := -1
	if len(st.fields) >= 3 && s.rng.Float64() < s.cfg.Lookalike {
		fake = s.rng.IntN(len(st.fields) - 2)
	}
	for i, fd := range st.fields {
		v := s.value()
		if fake >= 0 && i >= fake && i < fake+3 {
			v = [3]uint64{uint64(abi.KindEntry)<<28 | uint64(s.task.seq+2)&abi.SeqMask, s.funcs[s.rng.IntN(len(s.funcs))].pc, abi.V1Meta(abi.KindEntry, 1, 8, simStack)}[i-fake]
		}
		var b [8]byte
		for j := range b {
			b[j] = byte(v >> (8 * j))
		}
		mem.Write(addr+fd.Off, b[:min(fd.Size, 8)])
	}
	return addr
}

// push copies n bytes of v (or a struct) onto the simulated stack.
func (s *sim) push(n uint64) uint64 {
	s.sp -= (n + 15) &^ 15
	if s.sp < simStack {
		s.sp = simStack + simStackN - ((n + 15) &^ 15)
	}
	return s.sp
}

func (s *sim) pass(p simParam) (ptr, table uint64, n uint32) {
	mem := s.dev.Mem
	switch p.kind {
	case 0:
		a := s.push(8)
		mem.WriteU64(a, s.value())
		return a, 0, 0
	case 1:
		switch r := s.rng.Float64(); {
		case r < s.cfg.Null:
			ptr = 0
		case r < s.cfg.Null+s.cfg.ErrPtr:
			ptr = -uint64(1 + s.rng.IntN(abi.MaxErrno))
		case r < s.cfg.Null+s.cfg.ErrPtr+s.cfg.Fault:
			ptr = simHole + uint64(s.rng.IntN(1<<16))*8
		default:
			ptr = s.instance(p.st)
		}
		return ptr, p.st.table, uint32(len(p.st.fields))
	}
	src := s.instance(p.st)
	a := s.push(p.st.size)
	for off := uint64(0); off < p.st.size; off += 8 {
		v, _ := mem.Read(src+off, 8)
		mem.WriteU64(a+off, v)
	}
	return a, p.st.table, uint32(len(p.st.fields))
}

func (s *sim) call(fi, depth int) {
	f := s.funcs[fi]
	t := s.task
	if len(f.params) == 0 {
		t.TraceArgs(f.pc, 0, 0, 0, 0, 0)
	}
	for i, p := range f.params {
		ptr, table, n := s.pass(p)
		t.TraceArgs(f.pc, uint32(i), p.size, ptr, table, n)
	}
	if s.cfg.IRQ > 0 && s.rng.Float64() < s.cfg.IRQ {
		t.Interrupt(func() { s.call(s.rng.IntN(len(s.funcs)), s.cfg.MaxDepth) })
	}
	if depth < s.cfg.MaxDepth {
		for _, c := range f.callees {
			s.call(c, depth+1)
		}
	}
	if f.void {
		t.TraceRet(f.pc, 0, 0, 0, 0)
		return
	}
	ptr, table, n := s.pass(f.ret)
	t.TraceRet(f.pc, f.ret.size, ptr, table, n)
}
