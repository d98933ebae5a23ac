//go:build linux

package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/golden"
)

// record --follow's flags: --chunk-words only with --follow, and not with
// --kcov; both refused before any device is opened.
func TestRecordFollowFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"record", "--chunk-words", "256", "--", "true"}, "record: --chunk-words sizes the chunks of --follow: give both or neither; usage: kcovdf record [flags] -- CMD [ARGS...]"},
		{[]string{"record", "--follow", "--kcov", "--", "true"}, "record: --kcov traces one thread and cannot follow a process tree: give --follow or --kcov; usage: kcovdf record [flags] -- CMD [ARGS...]"},
		{[]string{"record", "--follow", "--chunk-words", "100", "--device", "/nonexistent", "--", "true"}, "record: chunks of 100 words in a buffer of 4194304 words: a chunk is a power of two from 64 to 1048576 words, smaller than the buffer"},
		{[]string{"record", "--follow", "--words", "512", "--chunk-words", "1024", "--device", "/nonexistent", "--", "true"}, "record: chunks of 1024 words in a buffer of 512 words"},
		{[]string{"lab", "trace", "--chunk-words", "256", "--", "true"}, "lab trace: --chunk-words sizes the chunks of --follow: give both or neither"},
		{[]string{"lab", "trace", "--follow", "--kcov", "--", "true"}, "lab trace: --kcov traces one thread and cannot follow a process tree"},
	} {
		_, _, err := runCLI(t, c.args...)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}

// What record stores in follow mode (the area up to its last chunk
// handed out) reads as the whole buffer does: stats gives the same tasks
// and records. The summary record prints is checked in.
func TestRecordFollowTraceFile(t *testing.T) {
	in, err := abi.LoadTrace("testdata/in/follow.kdf")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c := in.Meta.Follow.ChunkWords
	end := 1
	for off := 1; off+c <= len(in.Words); off += c {
		if in.Words[off] != 0 {
			end = off + c
		}
	}
	if end == len(in.Words) {
		t.Fatal("follow.kdf has no chunk left untaken: the test would prove nothing")
	}
	dir := t.TempDir()
	short := filepath.Join(dir, "stored.kdf")
	if err := abi.SaveTrace(short, &abi.Trace{Meta: in.Meta, Words: in.Words[:end]}); err != nil {
		t.Fatal(err)
	}
	full, _, err := runCLI(t, "stats", "--layout", "testdata/in/follow.jsonl", "testdata/in/follow.kdf")
	if err != nil {
		t.Fatal(err)
	}
	stored, _, err := runCLI(t, "stats", "--layout", "testdata/in/follow.jsonl", short)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Replace(stored, short, "testdata/in/follow.kdf", 1), full; got != want {
		t.Errorf("stats of the stored area:\n%s\nwant, as of the whole buffer:\n%s", got, want)
	}
	summary, _, _ := recordedSummary(t, short, "kcovdf record: stored.kdf: ")
	golden.Check(t, "record-follow-summary.txt", []byte(summary))
}

// recordedSummary is what record prints after storing the trace at path.
func recordedSummary(t *testing.T, path, prefix string) (string, *abi.Trace, *abi.FollowTrace) {
	t.Helper()
	tr, err := abi.LoadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ft, err := decodeFollowTrace(tr, abi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeFollowRecorded(&b, prefix, ft, tr.Meta); err != nil {
		t.Fatal(err)
	}
	return b.String(), tr, ft
}

// Drops with chunks left are records longer than a chunk: the summary
// says so, and not that the buffer was full.
func TestRecordFollowLongRecords(t *testing.T) {
	tr, err := abi.LoadTrace(followIn)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ft, err := decodeFollowTrace(tr, abi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := tr.Meta
	one := uint64(1)
	m.Dropped, m.Overflowed = &one, true
	var b bytes.Buffer
	if err := writeFollowRecorded(&b, "", ft, m); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("note: 1 records were dropped with chunks left: records longer than a chunk's %d record words; record with more --chunk-words\n", ft.ChunkWords-abi.ChunkHeaderWords)
	if ft.Full || !strings.HasSuffix(b.String(), want) {
		t.Errorf("full %v, summary:\n%s\nwant it to end with %q", ft.Full, b.String(), want)
	}
}

// A full buffer: the summary says so and what to do.
func TestRecordFollowFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.kdf")
	if _, _, err := runCLI(t, "sim", "--follow", "--calls", "0", "--words", "2048", "--chunk-words", "128", "-o", path); err != nil {
		t.Fatal(err)
	}
	summary, tr, ft := recordedSummary(t, path, "")
	want := fmt.Sprintf("note: every chunk was taken and %d records were dropped: record with more --words\n", *tr.Meta.Dropped)
	if !ft.Full || *tr.Meta.Dropped == 0 || !strings.HasSuffix(summary, want) {
		t.Errorf("full %v, summary:\n%s\nwant it to end with %q", ft.Full, summary, want)
	}
}
