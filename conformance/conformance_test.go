package conformance

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kcovdf/kcovdf/abi"
)

// TestModel runs the table against the model. The real kernel runs the
// same table in the lab (kcovdf conformance).
func TestModel(t *testing.T) {
	res, err := Run(NewModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		switch {
		case r.Skipped != "":
			t.Logf("skip %s: %s", r.Case.Name, r.Skipped)
		case r.Err != nil:
			t.Errorf("%s (%s): %v", r.Case.Name, r.Case.Spec, r.Err)
		}
	}
}

func TestStressModel(t *testing.T) {
	res, err := Stress(NewModel(), 1, 50*time.Millisecond, 4096, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Dropped == 0 || res[0].Records == 0 {
		t.Fatalf("a 4096-word buffer for 50 ms of work must overflow: %+v", res[0])
	}
}

// noFollow is the model as a kernel without the follow mode answers:
// ENOTTY for KCOV_DF_ENABLE_FOLLOW.
type noFollow struct{ *Model }

type noFollowFile struct{ File }

func (m noFollow) Open() (File, error) {
	f, err := m.Model.Open()
	return noFollowFile{f}, err
}

func (f noFollowFile) Ioctl(t Task, cmd uint32, arg uint64) (uint64, error) {
	if cmd == abi.IoctlEnableFollow {
		return 0, syscall.ENOTTY
	}
	return f.File.Ioctl(t, cmd, arg)
}

// On a device without the follow mode every follow case skips, saying
// why, and every other case runs.
func TestFollowSkipsWithoutTheMode(t *testing.T) {
	res, err := Run(noFollow{NewModel()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0
	for _, r := range res {
		follow := strings.HasPrefix(r.Case.Name, "follow: ")
		switch {
		case r.Err != nil:
			t.Errorf("%s: %v", r.Case.Name, r.Err)
		case follow && r.Skipped != skipNoFollow:
			t.Errorf("%s: skipped %q, want %q", r.Case.Name, r.Skipped, skipNoFollow)
		case follow:
			skipped++
		}
	}
	if skipped != len(followCases()) {
		t.Fatalf("%d follow cases skipped, want %d", skipped, len(followCases()))
	}
}

func TestStressFollowModel(t *testing.T) {
	for _, c := range []struct {
		name  string
		words int
		full  bool
	}{
		{"room", 1 << 22, false},
		{"full", 16 * 1024, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := StressFollow(NewModel(), 8, 3, 30*time.Millisecond, c.words, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Tasks) != 1+8+3+1 {
				t.Fatalf("%d tasks, want the root, 8 threads, 3 processes and a thread of the first", len(res.Tasks))
			}
			if res.Full != c.full || (res.Dropped > 0) != c.full || res.ChunkDropped > res.Dropped {
				t.Fatalf("full %v, GET_DROPPED %d, chunks' drops %d; want full %v", res.Full, res.Dropped, res.ChunkDropped, c.full)
			}
			for _, r := range res.Tasks {
				if r.Calls == 0 || (!c.full && (r.Records == 0 || r.Chunks == 0)) {
					t.Errorf("task %d (%s): %d work units, %d records in %d chunks", r.Tid, r.Kind, r.Calls, r.Records, r.Chunks)
				}
			}
		})
	}
	if _, err := StressFollow(noFollow{NewModel()}, 2, 1, time.Millisecond, 1<<16, Options{}); err == nil {
		t.Fatal("a stress on a device without the mode ran")
	} else if why, ok := Skipped(err); !ok || why != skipNoFollow {
		t.Fatalf("stress without the mode: %v, want the skip %q", err, skipNoFollow)
	}
}
