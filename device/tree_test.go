//go:build linux

package device

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/internal/rawdev"
)

// TestMain lets the test binary stand in for a program that records: the
// child Record re-executes enables tracing here, as kcovdf's main does.
func TestMain(m *testing.M) {
	ExecTracedChild()
	os.Exit(m.Run())
}

// startTree starts sh -c script with this process a subreaper, as Record
// does in follow mode.
func startTree(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	if err := setSubreaper(true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { setSubreaper(false) })
	cmd := exec.Command("sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// A process the command leaves behind is re-parented to the recorder and
// waited for: the tree ends when its last process does, and the note says
// who outlived the command.
func TestWaitTreeOutlivingChild(t *testing.T) {
	cmd := startTree(t, "sleep 0.3 & exit 3")
	var notes bytes.Buffer
	start := time.Now()
	res := waitTree(context.Background(), cmd, &notes)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.exitCode != 3 || res.processes != 2 || len(res.killed) != 0 {
		t.Errorf("exit %d, %d processes, killed %v; want 3, 2 (sh and its orphaned sleep), none", res.exitCode, res.processes, res.killed)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("waitTree returned after %v, before the subshell's sleep of 0.3 s ended", d)
	}
	// The sleep is named sh until it execs.
	if !regexp.MustCompile(`^record: sh exited \(status 3\); waiting for the 1 process of its tree still running: [0-9]+ \((sh|sleep)\) \(interrupt to kill them and keep the trace\)\n$`).MatchString(notes.String()) {
		t.Errorf("notes %q", notes.String())
	}
}

// A grandchild whose parent exited at once (a daemon's double fork) is
// the recorder's child now, and is waited for too.
func TestWaitTreeOrphan(t *testing.T) {
	cmd := startTree(t, "(sleep 0.2 &) ; exit 0")
	res := waitTree(context.Background(), cmd, nil)
	if res.err != nil || res.exitCode != 0 || res.processes != 2 {
		t.Errorf("exit %d, %d processes (%v); want 0, 2: sh and the orphaned sleep (sh waits for the subshell)", res.exitCode, res.processes, res.err)
	}
}

// Cancelling kills what is left of the tree, orphans included, and
// waitTree still returns with the command's status.
func TestWaitTreeCancel(t *testing.T) {
	cmd := startTree(t, "(sleep 100 &) ; sleep 100 & exit 5")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := waitTree(ctx, cmd, nil)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("waitTree took %v after the cancel", d)
	}
	// The subshell may be killed too, if it has not exited yet.
	if res.exitCode != 5 || len(res.killed) < 2 || res.processes != 3 {
		t.Errorf("exit %d, %d processes, killed %v; want 5, 3 (sh and the two orphaned sleeps), both sleeps", res.exitCode, res.processes, res.killed)
	}
}

// The child's failure crosses the pipe as the same error: an *OpError
// with its sentinel and explanation, an exec failure, or text.
func TestChildFailure(t *testing.T) {
	for _, in := range []error{
		&OpError{Op: "ENABLE_FOLLOW", Path: DefaultPath, Err: syscall.ENOTTY},
		&OpError{Op: "KCOV_ENABLE", Path: KcovPath, Err: syscall.EBUSY},
		&os.PathError{Op: "exec", Path: "/bin/true", Err: syscall.EACCES},
		errors.New("device descriptor: bad file descriptor"),
	} {
		var b bytes.Buffer
		reportChildFailure(&b, in)
		got := childFailure(b.String())
		want := in.Error()
		if _, ok := in.(*os.PathError); ok || !strings.Contains(b.String(), "\t"+DefaultPath) && !strings.Contains(b.String(), "\t"+KcovPath) {
			want = "record: " + want
		}
		if got == nil || got.Error() != want {
			t.Errorf("%q: got %v, want %q", b.String(), got, want)
		}
	}
	if childFailure("") != nil {
		t.Error("nothing reported must be no error")
	}
	if err := childFailure("gibberish"); err == nil || !strings.Contains(err.Error(), "gibberish") {
		t.Errorf("unparsable report: %v", err)
	}
}

// plainDevice is a plain file mapped as a buffer: it maps, and answers
// every ioctl with ENOTTY, as a kernel without the follow mode answers
// KCOV_DF_ENABLE_FOLLOW.
func plainDevice(t *testing.T, words int) *Device {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kcov_dataflow")
	if err := os.WriteFile(p, make([]byte, 8*words), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := rawdev.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	d := &Device{path: p, f: os.NewFile(uintptr(fd), p)}
	if d.m, err = rawdev.Mmap(fd, 0, 8*words, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// On a kernel without the mode, the child's ENABLE_FOLLOW fails with
// ENOTTY before the exec, and Record returns that as an error that says
// so, instead of a trace of a command that never ran.
func TestRecordFollowNotSupported(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d := plainDevice(t, 4096)
	var stderr bytes.Buffer
	rec, err := recordOn(context.Background(), d, RecordOptions{Argv: []string{"true"}, Follow: true, Stderr: &stderr}, &Recording{}, self, "/bin/true")
	if rec != nil || !errors.Is(err, ErrNotSupported) || !errors.Is(err, syscall.ENOTTY) {
		t.Fatalf("got %v, %v; want ErrNotSupported", rec, err)
	}
	var op *OpError
	if !errors.As(err, &op) || op.Op != "ENABLE_FOLLOW" || op.Path != d.Path() {
		t.Fatalf("error %#v, want the ENABLE_FOLLOW of %s", err, d.Path())
	}
	if !strings.Contains(err.Error(), "this kernel has no follow mode") {
		t.Errorf("error %q does not say the kernel lacks the mode", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("the child wrote %q: the parent reports the failure", stderr.String())
	}
	// Single-task mode reports its ENABLE the same way.
	_, err = recordOn(context.Background(), d, RecordOptions{Argv: []string{"true"}}, &Recording{}, self, "/bin/true")
	if !errors.As(err, &op) || op.Op != "ENABLE" || !errors.Is(err, ErrNotSupported) {
		t.Errorf("single task: %v", err)
	}
}

// Record refuses what the kernel would refuse, before starting anything.
func TestRecordFollowOptions(t *testing.T) {
	for _, c := range []struct {
		o    RecordOptions
		want string
	}{
		{RecordOptions{Argv: []string{"true"}, Follow: true, Kcov: true}, "classic kcov traces one thread"},
		{RecordOptions{Argv: []string{"true"}, Follow: true, ChunkWords: 100, Words: 1 << 20}, "chunks of 100 words in a buffer of 1048576 words"},
		{RecordOptions{Argv: []string{"true"}, Follow: true, ChunkWords: 4096, Words: 512}, "chunks of 4096 words in a buffer of 512 words"},
	} {
		_, err := Record(context.Background(), c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}

// followWords keeps the area up to its last tagged chunk: the words of
// chunks never handed out stay out of the trace file.
func TestFollowWords(t *testing.T) {
	const c = 64
	area := make([]uint64, 1+5*c)
	area[0] = 2 * c
	for _, slot := range []int{0, 1} {
		area[1+slot*c] = abi.ChunkTagWord(abi.ChunkFirst, c, 0)
		area[1+slot*c+abi.ChunkTid] = uint64(slot + 1)
	}
	got := followWords(area, c)
	if len(got) != 1+2*c || got[0] != 2*c || got[1+c+abi.ChunkTid] != 2 {
		t.Fatalf("%d words, area[0] %d", len(got), got[0])
	}
	if got := followWords(make([]uint64, 1+c), c); len(got) != 1 {
		t.Fatalf("an empty area: %d words", len(got))
	}
}

// followRound counts the record words and records of the chunks a round
// took, after those of earlier rounds, headers left out.
func TestFollowRound(t *testing.T) {
	const c = abi.FollowDefaultChunk
	d := plainDevice(t, 1+4*c)
	area := d.Words()
	// writeChunk puts n one-value records of tid into chunk slot.
	writeChunk := func(slot, tid, n int) {
		off := 1 + slot*c
		area[off+abi.ChunkTag] = abi.ChunkTagWord(abi.ChunkFirst, c, 0)
		area[off+abi.ChunkTid], area[off+abi.ChunkTgid] = uint64(tid), uint64(tid)
		var recs []uint64
		for i := range n {
			r := abi.Record{Kind: abi.KindEntry, Seq: uint32(i + 1), PC: 0xffffffff81000000, Size: 8, Ptr: 0xffff888000001000, Values: []uint64{uint64(i)}}
			recs = abi.EncodeV1(recs, &r)
		}
		area[off+abi.ChunkUsed] = uint64(len(recs))
		copy(area[off+abi.ChunkHeaderWords:], recs)
		area[0] += c
	}
	writeChunk(0, 1, 10) // an earlier round
	from := area[0]
	writeChunk(1, 1, 20)
	writeChunk(2, 2, 5)
	words, records, err := followRound(d, from)
	if w := abi.RecordWords(1); err != nil || words != 25*w || records != 25 {
		t.Errorf("%d words, %d records, %v; want %d, 25", words, records, err, 25*w)
	}
	if w, r, err := followRound(d, area[0]); w != 0 || r != 0 || err != nil {
		t.Errorf("a round that took no chunk: %d words, %d records, %v", w, r, err)
	}
	// Less than a chunk after start: the round cannot be decoded.
	area[0] = from + 10
	if _, _, err := followRound(d, from); err == nil {
		t.Error("a round of 10 words decoded without an error")
	}
}

// FuzzChildFailure: whatever the child's status pipe carries, reading it
// gives nil for nothing and an error otherwise, never a panic.
func FuzzChildFailure(f *testing.F) {
	f.Add("ENABLE_FOLLOW\t/sys/kernel/debug/kcov_dataflow\t25\n")
	f.Add("exec\t/bin/true\t13\n")
	f.Add("\t\t0\tdevice descriptor: bad file descriptor\n")
	f.Add("x\ty\t-1\n")
	f.Add("\n")
	f.Fuzz(func(t *testing.T, report string) {
		err := childFailure(report)
		if (err == nil) != (strings.TrimSuffix(report, "\n") == "") {
			t.Fatalf("%q: error %v", report, err)
		}
		if err != nil && err.Error() == "" {
			t.Fatalf("%q: an empty error", report)
		}
	})
}
