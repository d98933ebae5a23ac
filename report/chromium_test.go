package report

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium runs headless Chromium on a file with args; the test is
// skipped where Debian's chromium is not installed.
func chromium(t *testing.T, file, hash string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--window-size=1400,1000", "--virtual-time-budget=10000"}, args...)
	all = append(all, "file://"+file+hash)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// TestChromium opens reports in headless Chromium: the tree renders,
// searching by function name finds and reveals the calls, and a
// screenshot of the page is not blank.
func TestChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "small.html")
	os.WriteFile(file, page(t, []Task{smallTask(t)}, Options{Title: "small"}), 0o644)

	dom := chromium(t, file, "#func=^set_flags$", "--dump-dom")
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Fatalf("the script did not finish:\n%s", dom)
	}
	// The top-level call and, revealed by the search, its callees.
	rows := regexp.MustCompile(`<span class="fn">([a-z_]+)</span>`).FindAllStringSubmatch(dom, -1)
	var names []string
	for _, r := range rows {
		names = append(names, r[1])
	}
	got := strings.Join(names, " ")
	// Tree rows (do_open, its three callees, the last two calls), then
	// the two results, then the detail of the first.
	for _, want := range []string{"do_open set_flags by_value set_flags by_value", "set_flags set_flags"} {
		if !strings.Contains(got, want) {
			t.Errorf("rows %q lack %q", got, want)
		}
	}
	for _, want := range []string{`<div class="head">2 matches</div>`, `<h3>set_flags</h3>`, `class="line hit sel"`, `STATE_RUN`, `-ENOENT`} {
		if !strings.Contains(dom, want) {
			t.Errorf("page lacks %s", want)
		}
	}

	// A number matches a value whatever its base, a struct's field too:
	// do_open's how.flags is 0x8000 and it returned 32768.
	dom = chromium(t, file, "#value=32768", "--dump-dom")
	if !strings.Contains(dom, `<div class="head">1 match</div>`) || !strings.Contains(dom, `<h3>do_open</h3>`) {
		t.Errorf("value search: %s", dom)
	}

	// A call far down a long list of top-level calls: the rows around
	// it are made, the ones before it stay behind a button.
	if !strings.Contains(pageJS, fmt.Sprintf("const CHUNK = %d;", CHUNK)) {
		t.Fatal("the page's CHUNK changed: change the test's")
	}
	task, err := simTask(1<<19, 3)
	if err != nil {
		t.Fatal(err)
	}
	var top []int
	task.Tree.Children(-1, func(j int) { top = append(top, j) })
	if len(top) < 3*CHUNK {
		t.Fatalf("only %d top-level calls", len(top))
	}
	last := top[len(top)-1]
	simFile := filepath.Join(dir, "sim.html")
	os.WriteFile(simFile, page(t, []Task{task}, Options{}), 0o644)
	dom = chromium(t, simFile, fmt.Sprintf("#call=0:%d", last), "--dump-dom")
	name := task.Namer.Func(task.Tree.Calls[last].PC).Name
	made := strings.Count(dom, `<div class="call">`)
	if !strings.Contains(dom, "<h3>"+name+"</h3>") || !strings.Contains(dom, `class="more gap"`) || made > 2*CHUNK+10 {
		t.Errorf("call %d (%s) of %d top-level: %d rows made, gap %v", last, name, len(top), made, strings.Contains(dom, `class="more gap"`))
	}
	// Then one inside the gap: the gap splits in two around it.
	mid := top[len(top)/2]
	dom = chromium(t, simFile, fmt.Sprintf("#call=0:%d&call=0:%d", last, mid), "--dump-dom")
	name = task.Namer.Func(task.Tree.Calls[mid].PC).Name
	made = strings.Count(dom, `<div class="call">`)
	if gaps := strings.Count(dom, `class="more gap"`); !strings.Contains(dom, "<h3>"+name+"</h3>") || gaps != 2 || made > 3*CHUNK+10 {
		t.Errorf("call %d (%s) in the gap: %d rows made, %d gaps", mid, name, made, gaps)
	}

	// The tasks of a follow-mode trace: a selector, and #task=1 keeps
	// the search to the second task and hides the first one's tree.
	threads := []Task{smallTask(t), smallTask(t)}
	threads[0].Name, threads[0].Thread = "f.kdf task 7 (sh) process 7", &Thread{Tid: 7, Tgid: 7, Ptid: 1, Comm: "sh"}
	threads[1].Name, threads[1].Thread = "f.kdf task 8 (sh) process 7", &Thread{Tid: 8, Tgid: 7, Ptid: 7, Comm: "sh"}
	threadFile := filepath.Join(dir, "threads.html")
	os.WriteFile(threadFile, page(t, threads, Options{}), 0o644)
	dom = chromium(t, threadFile, "#func=^set_flags$", "--dump-dom")
	if !strings.Contains(dom, `<div class="head">4 matches</div>`) || !strings.Contains(dom, `<option value="1">8 sh, process 7</option>`) {
		t.Errorf("two tasks, all shown: %s", dom)
	}
	dom = chromium(t, threadFile, "#task=1&func=^set_flags$", "--dump-dom")
	if !strings.Contains(dom, `<div class="head">2 matches</div>`) || strings.Count(dom, `<div class="task" hidden="">`) != 1 {
		t.Errorf("#task=1: %s", dom)
	}

	shot := filepath.Join(dir, "shot.png")
	chromium(t, file, "#func=by_value", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	colors := map[[3]uint32]bool{}
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r>>8 < 200 || g>>8 < 200 || bl>>8 < 200 {
				inked++
			}
		}
	}
	if n := b.Dx() * b.Dy() / 4; len(colors) < 20 || inked < n/200 {
		t.Errorf("the screenshot looks blank: %d colours, %d of %d pixels inked", len(colors), inked, n)
	}
}

// CHUNK is the page's number of rows made at a time.
const CHUNK = 200
