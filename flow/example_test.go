package flow_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/flow"
)

// A value is looked for in the forms C code turns it into.
func ExampleMatcher_Match() {
	v, _ := flow.ParseValue("-100") // AT_FDCWD
	m := flow.NewMatcher(v, false)
	for _, w := range []struct {
		word  uint64
		width uint8
	}{{0xffffff9c, 4}, {0xffffffffffffff9c, 8}, {0x00000000ffffff9c, 8}, {100, 4}} {
		f, ok := m.Match(w.word, w.width)
		fmt.Printf("%#x in %d bytes: %v %v\n", w.word, w.width, f, ok)
	}
	// Output:
	// 0xffffff9c in 4 bytes: exact true
	// 0xffffffffffffff9c in 8 bytes: exact true
	// 0xffffff9c in 8 bytes: trunc32 true
	// 0x64 in 4 bytes: exact false
}
