package debuginfo

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/cilium/ebpf/btf"
)

// readBTFELF reads the .BTF section of f: BTF names functions and their
// parameters but gives no addresses, so they come from syms.
func readBTFELF(f *elf.File, syms Symbols) ([]Func, []Type, error) {
	sec := f.Section(".BTF")
	spec, err := btf.LoadSpecFromReader(io.NewSectionReader(sec, 0, int64(sec.Size)))
	if err != nil {
		// LoadSpecFromReader also accepts a whole ELF file.
		return nil, nil, fmt.Errorf("BTF: %w", err)
	}
	return fromBTF(spec, syms)
}

// OpenBTF builds an index from raw BTF (/sys/kernel/btf/vmlinux) with
// addresses from syms (kallsyms of the same boot, or System.map).
func OpenBTF(path string, syms Symbols) (*Index, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	spec, err := btf.LoadSpecFromReader(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: BTF: %w", path, err)
	}
	ix := &Index{Path: path, Source: SourceBTF, TextSymbols: true}
	if t := syms.Text(); t != 0 {
		ix.Rebase = t - LinkText
	}
	funcs, types, err := fromBTF(spec, syms)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range funcs {
		funcs[i].Low -= ix.Rebase
		if funcs[i].High != 0 {
			funcs[i].High -= ix.Rebase
		}
	}
	ix.Funcs, ix.Types = funcs, types
	ix.Stats.DWARFFuncs = len(funcs)
	n := len(ix.Funcs)
	ix.addSymbols(syms)
	ix.Stats.SymOnly = len(ix.Funcs) - n
	ix.finish()
	return ix, nil
}

func fromBTF(spec *btf.Spec, syms Symbols) ([]Func, []Type, error) {
	c := &btfConv{memo: map[btfKey]TypeID{}}
	var funcs []Func
	for typ, err := range spec.All() {
		if err != nil {
			return funcs, c.types, fmt.Errorf("BTF: %w", err)
		}
		fn, ok := typ.(*btf.Func)
		if !ok {
			continue
		}
		proto, ok := fn.Type.(*btf.FuncProto)
		if !ok {
			continue
		}
		for _, s := range syms[fn.Name] {
			f := Func{Name: fn.Name, Low: s.Addr, Unit: s.File, Static: fn.Linkage == btf.StaticFunc, HasSig: true}
			if s.Size > 0 {
				f.High = s.Addr + s.Size
			}
			f.Ret = c.convert(proto.Return, true, 0)
			for _, p := range proto.Params {
				f.Params = append(f.Params, Param{Name: p.Name, Type: c.convert(p.Type, true, 0)})
			}
			funcs = append(funcs, f)
		}
	}
	return funcs, c.types, nil
}

type btfKey struct {
	t       btf.Type
	members bool
}

type btfConv struct {
	memo  map[btfKey]TypeID
	types []Type
}

func (c *btfConv) at(id TypeID) *Type {
	if id < 0 || int(id) >= len(c.types) {
		return nil
	}
	return &c.types[id]
}

func (c *btfConv) convert(bt btf.Type, members bool, depth int) TypeID {
	if bt == nil || depth > maxTypeDepth {
		return NoType
	}
	if _, ok := bt.(*btf.Void); ok {
		return NoType
	}
	key := btfKey{bt, members}
	if id, ok := c.memo[key]; ok {
		return id
	}
	t := Type{Elem: NoType}
	switch v := bt.(type) {
	case *btf.Int:
		t.Name, t.Size = v.Name, v.Size
		switch {
		case v.Encoding == btf.Bool:
			t.Kind = KindBool
		case v.Encoding == btf.Signed:
			t.Kind = KindInt
		default:
			t.Kind = KindUint
		}
	case *btf.Float:
		t.Kind, t.Name, t.Size = KindFloat, v.Name, v.Size
	case *btf.Enum:
		t.Kind, t.Tag, t.Size = KindEnum, v.Name, v.Size
		t.Name = "enum " + firstNonEmpty(v.Name, "{...}")
		for _, e := range v.Values {
			t.Enumerators = append(t.Enumerators, Enumerator{Name: e.Name, Value: int64(e.Value)})
		}
	case *btf.Typedef, *btf.Const, *btf.Volatile, *btf.Restrict, *btf.TypeTag:
		var under btf.Type
		switch v := v.(type) {
		case *btf.Typedef:
			under = v.Type
		case *btf.Const:
			under = v.Type
		case *btf.Volatile:
			under = v.Type
		case *btf.Restrict:
			under = v.Type
		case *btf.TypeTag:
			under = v.Type
		}
		if ut := c.at(c.convert(under, members, depth+1)); ut != nil {
			t = *ut
		} else {
			t = Type{Kind: KindVoid, Name: "void", Elem: NoType}
		}
		switch v := v.(type) {
		case *btf.Typedef:
			t.Name = v.Name
		case *btf.Const:
			t.Name = qualify("const", t)
		case *btf.Volatile:
			t.Name = qualify("volatile", t)
		}
	case *btf.Pointer:
		t.Kind, t.Size = KindPointer, 8
		t.Elem = c.convert(v.Target, members && btfIsStruct(v.Target), depth+1)
		switch et := c.at(t.Elem); {
		case et == nil:
			t.Name = "void *"
		case et.Kind == KindFunc:
			t.Name = et.Name + " (*)()"
		case et.Name != "" && et.Name[len(et.Name)-1] == '*':
			t.Name = et.Name + "*"
		default:
			t.Name = et.Name + " *"
		}
	case *btf.Struct, *btf.Union:
		var name string
		var size uint32
		var ms []btf.Member
		if s, ok := v.(*btf.Struct); ok {
			t.Kind, name, size, ms = KindStruct, s.Name, s.Size, s.Members
			t.Name = "struct " + firstNonEmpty(name, "{...}")
		} else {
			u := v.(*btf.Union)
			t.Kind, name, size, ms = KindUnion, u.Name, u.Size, u.Members
			t.Name = "union " + firstNonEmpty(name, "{...}")
		}
		t.Tag, t.Size = name, size
		if members {
			for _, m := range ms {
				mt := c.convert(m.Type, false, depth+1)
				mem := Member{Name: m.Name, Type: mt, Off: uint64(m.Offset) / 8}
				if m.BitfieldSize > 0 {
					mem.BitOff, mem.BitSize = uint64(m.Offset), uint64(m.BitfieldSize)
					mem.Off = mem.BitOff / 8
					mem.Size = (mem.BitOff+mem.BitSize+7)/8 - mem.Off
				} else if size, err := btf.Sizeof(m.Type); err == nil {
					mem.Size = uint64(size)
				}
				t.Members = append(t.Members, mem)
			}
		}
	case *btf.Fwd:
		t.Kind = KindStruct
		if v.Kind == btf.FwdUnion {
			t.Kind = KindUnion
		}
		t.Tag, t.Name = v.Name, v.Kind.String()+" "+v.Name
	case *btf.Array:
		t.Kind = KindArray
		t.Elem = c.convert(v.Type, false, depth+1)
		en := "void"
		if et := c.at(t.Elem); et != nil {
			en = et.Name
			t.Size = et.Size * v.Nelems
		}
		t.Name = en + "[" + strconv.Itoa(int(v.Nelems)) + "]"
	case *btf.FuncProto:
		t.Kind, t.Name = KindFunc, "void"
		if rt := c.at(c.convert(v.Return, false, depth+1)); rt != nil {
			t.Name = rt.Name
		}
	default:
		t.Kind, t.Name = KindOther, bt.TypeName()
	}
	c.types = append(c.types, t)
	id := TypeID(len(c.types) - 1)
	c.memo[key] = id
	return id
}

func btfIsStruct(t btf.Type) bool {
	switch v := btf.UnderlyingType(t).(type) {
	case *btf.Struct, *btf.Union:
		return true
	case *btf.Fwd:
		_ = v
		return false
	}
	return false
}
