package model

import "testing"

// BenchmarkSimulate measures the model's writer and workload together:
// words written per second into a 1 M-word buffer.
func BenchmarkSimulate(b *testing.B) {
	cfg := DefaultSimConfig()
	cfg.Words = 1 << 20
	b.SetBytes(int64(cfg.Words) * 8)
	for b.Loop() {
		if _, err := Simulate(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
