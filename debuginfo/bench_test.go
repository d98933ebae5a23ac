package debuginfo

import (
	"os"
	"testing"
)

// BenchmarkOpenVmlinux builds the lab kernel's index from DWARF, cold.
func BenchmarkOpenVmlinux(b *testing.B) {
	vmlinux, _ := labKernel(b)
	for b.Loop() {
		if _, err := Open(vmlinux, Options{CacheDir: "-"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenVmlinuxCached loads it from the cache.
func BenchmarkOpenVmlinuxCached(b *testing.B) {
	vmlinux, _ := labKernel(b)
	dir := b.TempDir()
	if _, err := Open(vmlinux, Options{CacheDir: dir}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ix, err := Open(vmlinux, Options{CacheDir: dir})
		if err != nil || !ix.Stats.Cached {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup100k looks up 100,000 random pcs inside functions.
func BenchmarkLookup100k(b *testing.B) {
	ix := openFixture(b)
	if p, _ := labKernelPath(); p != "" {
		var err error
		if ix, err = Open(p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	pcs, err := RandomPCs(ix, 100000, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, pc := range pcs {
			if ix.Lookup(pc) != nil {
				n++
			}
		}
		if n != len(pcs) {
			b.Fatalf("%d of %d named", n, len(pcs))
		}
	}
}

func labKernelPath() (string, bool) {
	p := os.Getenv("KCOVDF_VMLINUX")
	return p, p != ""
}
