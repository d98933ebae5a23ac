package lab

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The end-to-end tests build real kernels (minutes when cold) and boot
// them; they run only when asked:
//
//	KCOVDF_E2E=1 go test -run TestE2E ./internal/lab        # plain kernel
//	KCOVDF_E2E_KASAN=1 go test -run TestE2E ./internal/lab  # KASAN + lockdep kernel
//
// internal/lab/e2e.sh runs both.

func TestE2E(t *testing.T) {
	if os.Getenv("KCOVDF_E2E") != "1" {
		t.Skip("set KCOVDF_E2E=1 to build and boot the lab kernel")
	}
	e2e(t, KernelOptions{})
}

func TestE2EKASAN(t *testing.T) {
	if os.Getenv("KCOVDF_E2E_KASAN") != "1" {
		t.Skip("set KCOVDF_E2E_KASAN=1 to build and boot the KASAN lab kernel")
	}
	e2e(t, KernelOptions{KASAN: true})
}

// e2eScript runs in the guest: it checks the device, runs the kselftest
// and leaves a file in the shared directory; its status is the selftest's
// (0 pass, 1 fail, 4 skip).
const e2eScript = `set -u
test -e /sys/kernel/debug/kcov_dataflow && echo "device: present" || echo "device: missing"
kcov_dataflow_test
st=$?
echo "selftest-status=$st" > e2e.status
kcovdf --help > /dev/null && echo "kcovdf: runs"
kcovdf-threads 3 && echo "kcovdf-threads: runs"
exit $st
`

func e2e(t *testing.T, opts KernelOptions) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	wd, _ := os.Getwd()
	repo, err := FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Config{RepoDir: repo, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	k, err := l.BuildKernel(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel %s (cached %v)", k.Dir, k.Cached)
	checkKernel(t, k)

	// Nothing changed: the second build is a cache hit and takes seconds.
	start := time.Now()
	k2, err := l.BuildKernel(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Cached || k2.Key != k.Key || time.Since(start) > 30*time.Second {
		t.Errorf("second build: cached %v, key %s (first %s), took %s", k2.Cached, k2.Key, k.Key, time.Since(start))
	}

	ir, err := l.BuildInitramfs(ctx, InitramfsOptions{Selftest: true})
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{"/init", "/bin/busybox", GuestBinDir + "/kcovdf", GuestBinDir + "/" + SelftestName}
	for _, p := range GuestPrograms {
		wants = append(wants, GuestBinDir+"/"+p.Name)
	}
	for _, want := range wants {
		found := false
		for _, f := range ir.Files {
			found = found || f == want
		}
		if !found {
			t.Errorf("initramfs lacks %s", want)
		}
	}

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	m := Machine{Kernel: k, Initramfs: ir}
	res, err := l.Run(ctx, m, RunOptions{Args: []string{"sh", "-c", e2eScript}, Dir: out,
		Stdout: &stdout, Stderr: &stderr, Timeout: 15 * time.Minute})
	t.Logf("guest stdout:\n%s", stdout.String())
	if stderr.Len() > 0 {
		t.Logf("guest stderr:\n%s", stderr.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot to command %.1fs, whole run %.1fs, serial log %s", res.BootTime.Seconds(), res.Duration.Seconds(), res.SerialLog)
	if err := res.Check(); err != nil {
		t.Error(err)
	}
	so := stdout.String()
	if !strings.Contains(so, "device: present") {
		t.Error("/sys/kernel/debug/kcov_dataflow missing in the guest")
	}
	if !strings.Contains(so, "kcovdf: runs") {
		t.Error("the static kcovdf binary did not run in the guest")
	}
	if !strings.Contains(so, "kcovdf-threads: runs") {
		t.Error("the guest C program kcovdf-threads did not run in the guest")
	}
	// The file the guest wrote came back through the share; it holds the
	// selftest's status, which the script also exits with.
	status := -1
	st, err := os.ReadFile(filepath.Join(out, "e2e.status"))
	if _, serr := fmt.Sscanf(strings.TrimSpace(string(st)), "selftest-status=%d", &status); err != nil || serr != nil {
		t.Errorf("e2e.status from the guest: %q, %v", st, err)
	}
	if res.ExitCode != status {
		t.Errorf("guest script exited %d, selftest status %d", res.ExitCode, status)
	}
	r := parseKselftest(so)
	t.Logf("selftest on the %s kernel: %d tests, pass %d, fail %d, skip %d, status %d",
		opts.variant(), r.Plan, r.Pass, r.Fail, r.Skip, status)
	for _, sk := range r.Skipped {
		t.Logf("skipped: %s", sk)
	}
	for _, e := range r.Check(status) {
		t.Errorf("selftest: %s", e)
	}

	// The KUnit suite ran at boot, before the guest command.
	log, err := os.ReadFile(res.SerialLog)
	if err != nil {
		t.Fatal(err)
	}
	ks, ok := FindKUnitSuite(string(log), "kcov_dataflow")
	if !ok {
		t.Errorf("no summary of the KUnit suite kcov_dataflow in %s", res.SerialLog)
	} else if err := ks.Check(); err != nil {
		t.Error(err)
	}
	t.Logf("KUnit on the %s kernel: pass %d, fail %d, skip %d of %d", opts.variant(), ks.Pass, ks.Fail, ks.Skip, ks.Total)
}

// checkKernel checks the artifacts: files present, debug info in vmlinux,
// the options asked for in the final config, and a layout when the plugin
// was used.
func checkKernel(t *testing.T, k *Kernel) {
	t.Helper()
	for _, p := range []string{k.BzImage, k.Vmlinux, k.SystemMap, k.Config, k.Layout, k.BuildLog, filepath.Join(k.Dir, "manifest.json")} {
		if st, err := os.Stat(p); err != nil || (st.Size() == 0 && p != k.Layout) {
			t.Errorf("artifact %s: %v", p, err)
		}
	}
	f, err := elf.Open(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Section(".debug_info") == nil {
		t.Error("vmlinux has no .debug_info")
	}
	cf, err := os.Open(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	got, err := ParseConfig(cf)
	if err != nil {
		t.Fatal(err)
	}
	var wanted []Option
	for _, c := range k.Manifest.Inputs.Config {
		name, val, _ := strings.Cut(strings.TrimPrefix(c, "CONFIG_"), "=")
		wanted = append(wanted, Option{name, val})
	}
	if missing := MissingOptions(wanted, got); len(missing) > 0 {
		t.Errorf("config lacks %v", missing)
	}
	if k.Manifest.Inputs.UsePlugin && k.Manifest.Instrumented == 0 {
		t.Error("the plugin was used but layout.jsonl is empty")
	}
}
