package tracediff

import (
	"testing"

	"github.com/kcovdf/kcovdf/internal/calltest"
)

// BenchmarkCompare16M: a full 16 M-word simulated trace against a copy
// with every 1000th value changed and every 1000th leaf call left out
// (both trees built once).
func BenchmarkCompare16M(b *testing.B) {
	sim, err := calltest.New(1<<24, 7)
	if err != nil {
		b.Fatal(err)
	}
	a := Task{Label: "a", Tree: sim.Tree(sim.Area), Namer: sim.Namer}
	c := Task{Label: "b", Tree: sim.Tree(sim.Edited(1000)), Namer: sim.Namer}
	b.SetBytes(int64(8 * len(sim.Area)))
	b.ResetTimer()
	for range b.N {
		res := Compare([]Task{a}, []Task{c}, Options{})
		t := res.Tasks[0]
		b.ReportMetric(float64(t.Differing), "differing")
		b.ReportMetric(float64(t.OnlyA+t.OnlyB), "unaligned")
	}
	b.ReportMetric(float64(len(a.Tree.Calls)), "calls")
}
