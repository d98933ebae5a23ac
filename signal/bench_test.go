package signal

import (
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/model"
)

var (
	benchOnce    sync.Once
	benchRecords []abi.Record
)

// benchRecs decodes a full 16 M-word simulated trace (the default mix:
// nested calls, struct arguments, faults, ERR_PTRs) into records, their
// values in the buffer as a decoder hands them out, or the trace
// KCOVDF_SIGNAL_TRACE names
// (a trace file with exact v1 lengths needs KCOVDF_SIGNAL_LAYOUT, the
// plugin's layout.jsonl).
func benchRecs(b testing.TB) []abi.Record {
	benchOnce.Do(func() {
		var words []uint64
		opt := abi.Options{Format: abi.FormatV1}
		if path := os.Getenv("KCOVDF_SIGNAL_TRACE"); path != "" {
			tr, err := abi.LoadTrace(path)
			if err != nil {
				b.Fatal(err)
			}
			words = tr.Words
			if lp := os.Getenv("KCOVDF_SIGNAL_LAYOUT"); lp != "" {
				l, err := abi.LoadLayout(lp)
				if err != nil {
					b.Fatal(err)
				}
				opt.Table, _ = abi.TableFromLayout(l, tr.Meta.KASLROffset.Offset)
			}
		} else {
			cfg := model.DefaultSimConfig()
			cfg.Words = abi.MaxWords
			res, err := model.Simulate(cfg)
			if err != nil {
				b.Fatal(err)
			}
			words = res.Area
			opt.Table, _ = abi.TableFromLayout(res.Layout, 0)
		}
		d := abi.NewDecoder(words, opt)
		for d.Next() {
			benchRecords = append(benchRecords, *d.Record())
		}
	})
	return benchRecords
}

func benchExtract(b *testing.B, opt Options) {
	rs := benchRecs(b)
	b.ResetTimer()
	// As a fuzzer would: one Extractor, Reset for each input.
	e := NewExtractor(opt)
	var n int
	// The CPU time of this thread, besides the wall time: on a machine
	// shared with other jobs the wall clock measures them too.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		e.Reset()
		e.AddRecords(rs)
		n = e.Len()
	}
	cpu := threadCPU() - cpu0
	b.ReportMetric(float64(len(rs))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrecords/s")
	b.ReportMetric(float64(len(rs))*float64(b.N)/cpu.Seconds()/1e6, "Mrecords/cpu-s")
	b.ReportMetric(float64(n), "features")
	b.ReportMetric(float64(len(rs)), "records")
}

// BenchmarkExtract: the value rules alone, as Extract does.
func BenchmarkExtract(b *testing.B) { benchExtract(b, Options{}) }

// BenchmarkExtractRelations adds the relations between fields.
func BenchmarkExtractRelations(b *testing.B) { benchExtract(b, Options{Relations: true}) }

// BenchmarkExtractTyped looks every slot up in Types (a fixed answer, so
// that the cost measured is the extractor's).
func BenchmarkExtractTyped(b *testing.B) {
	benchExtract(b, Options{Types: fixedTypes{value: ValueType{Kind: Signed}}})
}

// BenchmarkExtractDebugInfo takes the types from the traced kernel's
// DWARF, as `kcovdf signal --symbols vmlinux` does: KCOVDF_SIGNAL_VMLINUX
// names the vmlinux of KCOVDF_SIGNAL_TRACE's kernel.
func BenchmarkExtractDebugInfo(b *testing.B) {
	benchExtract(b, Options{Types: TypesFromDebugInfo(benchIndex(b))})
}

// BenchmarkExtractDebugInfoRelations: DWARF types and relations, where
// relations compare signed fields as signed.
func BenchmarkExtractDebugInfoRelations(b *testing.B) {
	benchExtract(b, Options{Types: TypesFromDebugInfo(benchIndex(b)), Relations: true})
}

var (
	indexOnce  sync.Once
	benchIx    *debuginfo.Index
	benchIxErr error
)

func benchIndex(b testing.TB) *debuginfo.Index {
	path := os.Getenv("KCOVDF_SIGNAL_VMLINUX")
	if path == "" {
		b.Skip("KCOVDF_SIGNAL_VMLINUX (the trace's vmlinux) not set")
	}
	indexOnce.Do(func() { benchIx, benchIxErr = debuginfo.Open(path, debuginfo.Options{}) })
	if benchIxErr != nil {
		b.Fatal(benchIxErr)
	}
	return benchIx
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// TestExtractMatchesReferenceOnTrace compares extraction with the plain
// reference on the benchmarks' trace (KCOVDF_SIGNAL_TRACE).
func TestExtractMatchesReferenceOnTrace(t *testing.T) {
	if os.Getenv("KCOVDF_SIGNAL_TRACE") == "" {
		t.Skip("KCOVDF_SIGNAL_TRACE (a lab trace) not set")
	}
	rs := benchRecs(t)
	opts := append([]Options{{}}, referenceOptions()...)
	// With the trace's own DWARF types too, where the one-field struct
	// bug hid 156 features of this trace.
	if os.Getenv("KCOVDF_SIGNAL_VMLINUX") != "" {
		ty := TypesFromDebugInfo(benchIndex(t))
		opts = append(opts, Options{Types: ty}, Options{Types: ty, Relations: true}, Options{Types: ty, MaxPerSlot: 3, MaxFields: 4})
	}
	checkReference(t, "trace", rs, opts)
}
