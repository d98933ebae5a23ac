package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/internal/golden"
	"github.com/kcovdf/kcovdf/signal"
)

// TestGoldenFeedback: signal and hints on the small checked-in traces.
func TestGoldenFeedback(t *testing.T) {
	const (
		trace  = "testdata/in/sim.kdf"
		layout = "testdata/in/sim.jsonl"
		v3     = "testdata/in/sim-v3.bin"
	)
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.sig")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"signal", []string{"signal", "--top", "12", "--layout", layout, trace}},
		{"signal-relations", []string{"signal", "--relations", "--top", "0", "--layout", layout, trace}},
		{"signal-save", []string{"signal", "--top", "0", "--format", "v3", "--save", corpus, v3}},
		{"signal-corpus-json", []string{"signal", "--top", "3", "--json", "--corpus", corpus, "--layout", layout, trace}},
		{"signal-two", []string{"signal", "--top", "0", "--layout", layout, trace, trace}},
		{"hints", []string{"hints", "--max-per-pc", "8", "--layout", layout, trace, trace}},
	} {
		t.Run(c.name, func(t *testing.T) {
			golden.Check(t, c.name+".txt", transcript(t, dir, c.args...))
		})
	}
}

// TestFeedbackErrors: wrong use and garbage input give one clear error
// each, never a panic.
func TestFeedbackErrors(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"empty.kdf":   nil,
		"text.kdf":    []byte("hello, world\n"),
		"zeros.kdf":   make([]byte, 4096),
		"random.kdf":  pseudoRandom(5000),
		"header.kdf":  append([]byte("KCOVDFTR"), pseudoRandom(100)...),
		"corrupt.sig": append([]byte("KCDFSIG\x01\x09"), 1, 2),
		"text.sig":    []byte("{not json"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := func(name string) string { return filepath.Join(dir, name) }
	var all bytes.Buffer
	for _, args := range [][]string{
		{"signal"},
		{"hints"},
		{"signal", in("empty.kdf")},
		{"signal", in("text.kdf")},
		{"signal", in("zeros.kdf")},
		{"signal", in("random.kdf")},
		{"signal", in("header.kdf")},
		{"hints", in("random.kdf")},
		{"hints", "testdata/in/sim.kdf", in("zeros.kdf")},
		{"signal", "--corpus", in("corrupt.sig"), "testdata/in/sim.kdf"},
		{"signal", "--corpus", in("text.sig"), "testdata/in/sim.kdf"},
		{"signal", "--corpus", in("missing.sig"), "testdata/in/sim.kdf"},
		{"signal", "--func-ids", "name", "testdata/in/sim.kdf"},
		{"signal", "--func-ids", "addr", "testdata/in/sim.kdf"},
		{"signal", "--max-per-slot", "0", "testdata/in/sim.kdf"},
		{"hints", "--max-per-pc", "0", "testdata/in/sim.kdf"},
		{"signal", "--format", "v9", "testdata/in/sim.kdf"},
	} {
		all.Write(transcript(t, dir, args...))
		all.WriteByte('\n')
	}
	golden.Check(t, "feedback-errors.txt", all.Bytes())
}

func pseudoRandom(n int) []byte {
	var b []byte
	h := sha256.Sum256([]byte("kcovdf"))
	for len(b) < n {
		b = append(b, h[:]...)
		h = sha256.Sum256(h[:])
	}
	return b[:n]
}

// TestSignalSaveRoundTrip: a saved corpus, given back, leaves nothing
// new in the traces it was made of, in either form.
func TestSignalSaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"c.sig", "c.json"} {
		path := filepath.Join(dir, name)
		if _, _, err := runCLI(t, "signal", "--save", path, "--layout", "testdata/in/sim.jsonl", "testdata/in/sim.kdf"); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		if s, err := signal.Parse(data); err != nil || s.Len() == 0 || strings.HasSuffix(name, ".json") != (data[0] == '{') {
			t.Fatalf("%s: %v, %d features", name, err, s.Len())
		}
		out, _, err := runCLI(t, "signal", "--json", "--corpus", path, "--layout", "testdata/in/sim.jsonl", "testdata/in/sim.kdf")
		if err != nil {
			t.Fatal(err)
		}
		var res signalJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Total.New != 0 || res.Traces[0].Features == 0 {
			t.Fatalf("%s: %v %+v", name, err, res)
		}
	}
}
