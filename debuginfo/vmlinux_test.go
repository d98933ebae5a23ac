package debuginfo

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kcovdf/kcovdf/abi"
)

// The lab kernel's vmlinux and the layout its plugin recorded; tests that
// need them skip without.
func labKernel(t testing.TB) (vmlinux, layout string) {
	vmlinux = os.Getenv("KCOVDF_VMLINUX")
	if vmlinux == "" {
		t.Skip("KCOVDF_VMLINUX (a lab kernel's vmlinux with DWARF) not set")
	}
	layout = os.Getenv("KCOVDF_LAYOUT")
	if layout == "" {
		layout = filepath.Join(filepath.Dir(vmlinux), "layout.jsonl")
	}
	return vmlinux, layout
}

// TestLabDerivedLayouts derives every instrumented function's field
// tables from DWARF alone and requires them identical to what the plugin
// recorded: same argument indexes and sizes, same field tables (for a
// kernel built with a field cap, the struct's count of fields and the
// same first pairs). Where the
// plugin skipped a parameter the optimiser removed (its documented
// deviation), the derived shape has it too, and only those are allowed
// to differ. Every function of the layout must bind: the plugin writes
// a layout record only for a function it emitted, so one without an
// address (Missing) or without a way to tell which address is its own
// (Ambiguous) is a binding bug, not something to skip.
func TestLabDerivedLayouts(t *testing.T) {
	vmlinux, layoutPath := labKernel(t)
	ix, err := Open(vmlinux, Options{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := abi.LoadLayout(layoutPath)
	if err != nil {
		t.Fatal(err)
	}
	b := Bind(l, ix)
	var funcs, args, same, skipped, rets int
	var bad []string
	for _, name := range b.Missing {
		bad = append(bad, name+": in the layout, at no address of the vmlinux")
	}
	for _, name := range b.Ambiguous {
		bad = append(bad, name+": static functions of one name whose addresses cannot be told apart")
	}
	for _, bd := range b.Funcs {
		f := ix.At(bd.Addr)
		if f == nil {
			bad = append(bad, bd.Shape.Func+": no DWARF function at its address")
			continue
		}
		funcs++
		got := ix.DeriveShape(f)
		want := bd.Shape
		byIdx := map[int]abi.ArgShape{}
		for _, a := range got.Args {
			byIdx[a.Idx] = a
		}
		for _, a := range want.Args {
			args++
			if a.Marker {
				if len(got.Args) == 0 || !got.Args[0].Marker && len(f.Params) == 0 {
					bad = append(bad, want.Func+": marker")
				}
				if len(f.Params) > 0 {
					skipped++ // every parameter was optimised out
				} else {
					same++
				}
				continue
			}
			g, ok := byIdx[a.Idx]
			if !ok || !SameExpansion(g.Fields, a.Fields, a.Capped) || g.Size != a.Size {
				bad = append(bad, want.Func+": arg "+a.Name)
				continue
			}
			same++
		}
		if want.Ret != nil {
			rets++
			if got.Ret == nil || !SameExpansion(got.Ret.Fields, want.Ret.Fields, want.Ret.Capped) || got.Ret.Size != want.Ret.Size {
				bad = append(bad, want.Func+": return")
			}
		}
	}
	t.Logf("%d of %d layout records bound to %d functions, %d args (%d identical, %d functions with every parameter optimised out), %d returns; %d differences", len(l.Funcs)-len(b.Missing)-len(b.Ambiguous), len(l.Funcs), funcs, args, same, skipped, rets, len(bad))
	for i, s := range bad {
		if i == 20 {
			break
		}
		t.Error(s)
	}
}

// TestLabIndex: every function the plugin instrumented is named, with
// its parameters; the cache gives the same index.
func TestLabIndex(t *testing.T) {
	vmlinux, layoutPath := labKernel(t)
	dir := t.TempDir()
	t0 := time.Now()
	ix, err := Open(vmlinux, Options{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(t0)
	t0 = time.Now()
	warm, err := Open(vmlinux, Options{CacheDir: dir})
	if err != nil || !warm.Stats.Cached {
		t.Fatalf("warm open: %v cached %v", err, warm.Stats.Cached)
	}
	t.Logf("%d functions (%d with signatures, %d units), %d types; cold %v, warm %v", len(ix.Funcs), ix.Stats.DWARFFuncs, ix.Stats.Units, len(ix.Types), cold, time.Since(t0))
	if len(warm.Funcs) != len(ix.Funcs) || len(warm.Types) != len(ix.Types) {
		t.Fatal("cache differs")
	}
	l, err := abi.LoadLayout(layoutPath)
	if err != nil {
		t.Fatal(err)
	}
	b := Bind(l, ix)
	for _, bd := range b.Funcs {
		f := ix.At(bd.Addr)
		if f == nil || !f.HasSig {
			t.Fatalf("%s at %#x: no function with a signature", bd.Shape.Func, bd.Addr)
		}
	}
	if len(b.Funcs) < len(l.Funcs)*9/10 {
		t.Fatalf("only %d of %d layout functions bound", len(b.Funcs), len(l.Funcs))
	}
}
