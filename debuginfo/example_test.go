package debuginfo_test

import (
	"fmt"
	"path/filepath"

	"github.com/kcovdf/kcovdf/debuginfo"
)

// An address named from a small image's DWARF: its function, where that
// is declared, its parameters with their types, and the address's own
// line.
func Example() {
	const image = "testdata/fixture.elf"
	ix, err := debuginfo.Open(image, debuginfo.Options{CacheDir: "-"})
	if err != nil {
		fmt.Println(err)
		return
	}
	const addr = 0x401004 // a link-time address of the image
	f := ix.Lookup(addr - ix.Rebase)
	fmt.Printf("%s+%#x, declared at %s:%d\n", f.Name, addr-ix.Rebase-f.Low, filepath.Base(f.File), f.Line)
	for _, p := range f.Params {
		fmt.Printf("  %s %s\n", ix.TypeName(p.Type), p.Name)
	}
	lines, err := debuginfo.OpenLines(image)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lines.Close()
	file, line, _ := lines.At(addr)
	fmt.Printf("at %s:%d\n", filepath.Base(file), line)
	// Output:
	// do_open+0x4, declared at fixture_a.c:26
	//   int dfd
	//   const char * filename
	//   struct open_how * how
	// at fixture_a.c:28
}
