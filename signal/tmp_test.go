package signal
import "testing"
var sink uint64
func BenchmarkBaselineWalk(b *testing.B) {
	rs := benchRecs(b)
	for b.Loop() {
		var s uint64
		for i := range rs { r := &rs[i]; s += r.PC + r.Ptr; for _, v := range r.Values { s += v } }
		sink = s
	}
	b.ReportMetric(float64(len(rs))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
}
func BenchmarkBaselineHash(b *testing.B) {
	rs := benchRecs(b)
	for b.Loop() {
		var s uint64
		for i := range rs { r := &rs[i]; s += rawHash(r.PC, r.Values) }
		sink = s
	}
	b.ReportMetric(float64(len(rs))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
}
func BenchmarkBaselineClassify(b *testing.B) {
	rs := benchRecs(b)
	for b.Loop() {
		var s uint64
		for i := range rs { r := &rs[i]; for _, v := range r.Values { c, p := classify(v, ValueType{}, false); s += uint64(c) + uint64(p) } }
		sink = s
	}
	b.ReportMetric(float64(len(rs))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
}
