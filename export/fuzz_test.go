package export_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/export"
	"github.com/kcovdf/kcovdf/model"
)

// FuzzExport: any words, decoded without a layout as a raw dump is, give
// a JSON line per call and a Perfetto trace that decodes back with a
// begin and an end per call; nothing panics.
func FuzzExport(f *testing.F) {
	cfg := model.DefaultSimConfig()
	cfg.Words, cfg.Functions = 512, 10
	res, err := model.Simulate(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(binary.LittleEndian.AppendUint64(nil, 0))
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	var seed []byte
	for _, w := range res.Area {
		seed = binary.LittleEndian.AppendUint64(seed, w)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		words := make([]uint64, max(len(data)/8, 1))
		for i := range len(data) / 8 {
			words[i] = binary.LittleEndian.Uint64(data[8*i:])
		}
		task := export.NewTask("fuzz", &abi.Trace{Raw: true, Words: words}, abi.Options{Format: abi.FormatAuto}, nil)
		var j bytes.Buffer
		if err := export.WriteJSONL(&j, []*export.Task{task}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for line := range bytes.Lines(j.Bytes()) {
			if !json.Valid(line) {
				t.Fatalf("line %d is no JSON: %q", n, line)
			}
			n++
		}
		if n != len(task.Tree.Calls) {
			t.Fatalf("%d lines for %d calls", n, len(task.Tree.Calls))
		}
		var p bytes.Buffer
		if err := export.WritePerfetto(&p, []*export.Task{task}); err != nil {
			t.Fatal(err)
		}
		begins, ends := 0, 0
		for _, pk := range decodePerfetto(t, p.Bytes()) {
			switch {
			case pk.ev == nil:
			case pk.ev.typ == 1:
				begins++
			default:
				ends++
			}
		}
		if begins != len(task.Tree.Calls) || ends != begins {
			t.Fatalf("%d begins, %d ends for %d calls", begins, ends, len(task.Tree.Calls))
		}

		// The same calls as two programs of a task of a follow-mode
		// trace, named by the data's first bytes as a comm may be: a
		// process, a thread and a track under it, every name UTF-8.
		comm := string(data[:min(len(data), 16)])
		var parts []*export.Task
		for exec := range 2 {
			part := *task
			part.Thread = &export.Thread{Tid: 2, Tgid: 1, Ptid: 1, Comm: comm, Exec: exec}
			part.ID = export.ThreadID(task.ID, part.Thread)
			parts = append(parts, &part)
		}
		p.Reset()
		if err := export.WritePerfetto(&p, parts); err != nil {
			t.Fatal(err)
		}
		descs, slices := 0, 0
		for _, pk := range decodePerfetto(t, p.Bytes()) {
			switch {
			case pk.track != nil:
				descs++
				if !utf8.ValidString(pk.track.name) || !utf8.ValidString(pk.track.pname) {
					t.Fatalf("track names %q %q", pk.track.name, pk.track.pname)
				}
			case pk.ev.typ == 1:
				slices++
			}
		}
		if descs != 3 || slices != 2*len(task.Tree.Calls) {
			t.Fatalf("%d track descriptors, %d slices for 2 × %d calls", descs, slices, len(task.Tree.Calls))
		}
	})
}
