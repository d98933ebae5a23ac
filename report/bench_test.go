package report

import (
	"os"
	"strconv"
	"testing"
)

// BenchmarkWriteHTML writes the report of a simulated full buffer:
// KCOVDF_BENCH_WORDS words (default 1 M; 16777216 for the README's
// figure).
//
//	KCOVDF_BENCH_WORDS=16777216 go test -run '^$' -bench WriteHTML -benchtime 3x ./report
func BenchmarkWriteHTML(b *testing.B) {
	words := 1 << 20
	if s := os.Getenv("KCOVDF_BENCH_WORDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		words = n
	}
	task, err := simTask(words, 7)
	if err != nil {
		b.Fatal(err)
	}
	var size countWriter
	b.ResetTimer()
	for b.Loop() {
		size = 0
		if err := WriteHTML(&size, []Task{task}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(task.Tree.Calls)), "calls")
	b.ReportMetric(float64(size)/1e6, "MB")
	b.SetBytes(int64(words) * 8)
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
