package model_test

import (
	"slices"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/model"
)

// simulateFollow runs cfg and decodes its area exactly, with its layout.
func simulateFollow(t *testing.T, cfg model.FollowSimConfig) (*model.FollowSimResult, *abi.FollowTrace) {
	t.Helper()
	res, err := model.SimulateFollow(cfg)
	if err != nil {
		t.Fatal(err)
	}
	table, _ := abi.TableFromLayout(res.Layout, 0)
	ft, err := abi.DecodeFollowChunks(res.Area, res.ChunkWords, abi.Options{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	return res, ft
}

// The simulated tree decodes into exactly the streams the tasks wrote:
// sh, its child that exec'd, and the child's two threads.
func TestSimulateFollow(t *testing.T) {
	cfg := model.FollowSimConfig{SimConfig: model.DefaultSimConfig(), ChunkWords: 256}
	cfg.Words, cfg.Calls = 16384, 6
	res, ft := simulateFollow(t, cfg)
	if len(ft.Anomalies) > 0 {
		t.Fatalf("anomalies: %v", ft.Anomalies)
	}
	type id struct {
		tid, tgid, ptid int
		comm            string
		root, exited    bool
	}
	var got []id
	for _, ts := range ft.Tasks {
		got = append(got, id{ts.Tid, ts.Tgid, ts.Ptid, ts.Comm, ts.Root, ts.Exited})
		var spans []model.Span
		for _, r := range ts.Records {
			spans = append(spans, model.Span{Offset: r.Offset, Words: r.Words()})
		}
		if !slices.Equal(spans, res.Truth[ts.Tid]) {
			t.Fatalf("task %d: %d records decoded, %d written", ts.Tid, len(spans), len(res.Truth[ts.Tid]))
		}
	}
	want := []id{{1, 1, 0, "sh", true, false}, {2, 2, 1, "worker", false, true}, {3, 2, 2, "worker", false, true}, {4, 2, 2, "worker", false, true}}
	slices.SortFunc(got, func(a, b id) int { return a.tid - b.tid })
	if !slices.Equal(got, want) {
		t.Fatalf("tasks %+v, want %+v", got, want)
	}
	if res.Calls != 4*6 || res.Dropped != 0 {
		t.Fatalf("%d calls, %d dropped", res.Calls, res.Dropped)
	}
	if c := ft.Task(2).Chunks; len(c) < 2 || c[0].Comm != "sh" || c[1].Flags != abi.ChunkExec || c[1].Comm != "worker" || c[len(c)-1].Flags != abi.ChunkExited {
		t.Fatalf("the child's chunks: %+v", c)
	}
}

// Without a call count the tree runs until the buffer is full: every
// chunk handed out, drops counted.
func TestSimulateFollowFills(t *testing.T) {
	cfg := model.FollowSimConfig{SimConfig: model.DefaultSimConfig(), ChunkWords: 128}
	cfg.Words = 4096
	res, ft := simulateFollow(t, cfg)
	if !ft.Full || res.Dropped < 16 || ft.Dropped > res.Dropped {
		t.Fatalf("full %v, %d dropped, %d in chunks", ft.Full, res.Dropped, ft.Dropped)
	}
}
