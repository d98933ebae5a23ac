package flow

import (
	"sync"
	"testing"

	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/internal/calltest"
)

var big struct {
	once sync.Once
	sim  *calltest.Sim
	tree *calls.Tree
	err  error
}

// BenchmarkFind16M: a value looked for in every argument, field and
// return of a full 16 M-word simulated trace (the tree built once).
func BenchmarkFind16M(b *testing.B) {
	big.once.Do(func() {
		big.sim, big.err = calltest.New(1<<24, 7)
		if big.err == nil {
			big.tree = big.sim.Tree(big.sim.Area)
		}
	})
	if big.err != nil {
		b.Fatal(big.err)
	}
	m := NewMatcher(0xffff888004000150, false)
	b.SetBytes(int64(8 * len(big.sim.Area)))
	b.ResetTimer()
	for range b.N {
		res := Find(big.tree, big.sim.Namer, m)
		b.ReportMetric(float64(len(res.Matches)), "matches")
	}
	b.ReportMetric(float64(len(big.tree.Calls)), "calls")
}
