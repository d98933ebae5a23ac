package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/debuginfo"
	"github.com/kcovdf/kcovdf/internal/lab"
)

// TestRecordKcovE2E: "record --kcov" keeps classic kcov's PCs of the same
// run beside the records, and the two streams line up: the one open of
// "cat /etc/passwd" is one entry of do_sys_openat2 in kcov's PCs and one
// call in dataflow's tree, and Align puts that PC on that call.
func TestRecordKcovE2E(t *testing.T) {
	needEnv(t, "KCOVDF_E2E", "build and boot the lab kernel")
	dir, k, _ := runGuest(t, lab.KernelOptions{}, "set -e\nkcovdf record --kcov -o catk.kdf -- cat /etc/passwd\nkcovdf feedback --json --runs 2 >feedback.jsonl\n")
	checkFeedback(t, filepath.Join(dir, "feedback.jsonl"))
	tr, err := abi.LoadTrace(filepath.Join(dir, "catk.kdf"))
	if err != nil {
		t.Fatal(err)
	}
	km := tr.Meta.Kcov
	if km == nil || km.Overflowed() || len(tr.KcovPCs) < 10000 || uint64(len(tr.KcovPCs)) != km.PCs {
		t.Fatalf("kcov section %+v with %d PCs: want a full run's coverage, not overflowed", km, len(tr.KcovPCs))
	}
	ix, err := debuginfo.Open(k.Vmlinux, debuginfo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layout, err := abi.LoadLayout(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	space := debuginfo.SpaceOf(&tr.Meta, ix)
	table, _ := abi.TableFromLayout(layout, space.Slide)
	tree := calls.Build(tr.Words, abi.NewDecoder(tr.Words, abi.Options{Format: abi.FormatV1, Table: table, BufferWords: tr.Meta.BufferWords}), calls.Options{})
	// kcov's PCs are link-time addresses: named without the slide.
	kcovFunc := func(pc uint64) (uint64, bool) {
		if f := ix.Lookup(pc); f != nil {
			return f.Low, true
		}
		return 0, false
	}
	open := ix.ByName("do_sys_openat2")
	if len(open) != 1 {
		t.Fatalf("%d functions named do_sys_openat2", len(open))
	}
	entry, inOpen, unnamed := uint64(0), 0, 0
	for _, pc := range tr.KcovPCs {
		f, ok := kcovFunc(pc)
		switch {
		case !ok:
			unnamed++
		case f == open[0].Low:
			inOpen++
			if entry == 0 || pc < entry {
				entry = pc
			}
		}
	}
	if inOpen == 0 || unnamed > len(tr.KcovPCs)/100 {
		t.Fatalf("%d PCs in do_sys_openat2, %d of %d in no function", inOpen, unnamed, len(tr.KcovPCs))
	}
	cov := calls.Align(tree, tr.KcovPCs, kcovFunc, space.Link)
	st := cov.Stats
	t.Logf("kcov: %d PCs, %d in do_sys_openat2; alignment %+v", len(tr.KcovPCs), inOpen, st)
	entries := 0
	for i, pc := range tr.KcovPCs {
		if pc != entry {
			continue
		}
		entries++
		c := cov.Call[i]
		if c < 0 || space.Link(tree.Calls[c].PC) != open[0].Low || !cov.Exact[i] {
			t.Errorf("do_sys_openat2's entry PC placed in call %d (exact %v), not in a call of do_sys_openat2", c, cov.Exact[i])
		}
	}
	if entries != 1 {
		t.Errorf("do_sys_openat2 entered %d times by kcov's PCs, want the one open of cat", entries)
	}
	if st.Exact < st.PCs*8/10 || st.Mismatched > st.PCs/1000 || st.Skipped > 10 {
		t.Errorf("alignment %+v: want most PCs exact, almost none mismatched or skipped", st)
	}
}

// checkFeedback reads "kcovdf feedback --json" (records decoded without a
// layout here) and checks the verdicts that hold on every boot: the
// control told apart by nothing, the ENOENT path by both, O_NOFOLLOW on a
// regular file by dataflow alone.
func checkFeedback(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type count struct{ NewA, NewB int }
	apart := func(c count) bool { return c.NewA+c.NewB > 0 }
	rows := map[string]map[string]count{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var row struct {
			Pair string `json:"pair"`
			PCs  struct {
				NewA int `json:"new_a"`
				NewB int `json:"new_b"`
			} `json:"kcov_pcs"`
			Dataflow struct {
				NewA int `json:"new_a"`
				NewB int `json:"new_b"`
			} `json:"dataflow"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rows[row.Pair] = map[string]count{"kcov": count(row.PCs), "dataflow": count(row.Dataflow)}
	}
	if len(rows) < 21 {
		t.Fatalf("%d pairs, want at least 21", len(rows))
	}
	for pair, want := range map[string][2]bool{
		"control: the same open twice":         {false, false},
		"open existing vs missing (ENOENT)":    {true, true},
		"open O_RDONLY vs O_RDONLY|O_NOFOLLOW": {false, true},
	} {
		r := rows[pair]
		if r == nil || apart(r["kcov"]) != want[0] || apart(r["dataflow"]) != want[1] {
			t.Errorf("%s: kcov %+v, dataflow %+v; want apart %v and %v", pair, r["kcov"], r["dataflow"], want[0], want[1])
		}
	}
}
