package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/kcovdf/kcovdf/internal/lab"
)

// TestAnalysisE2E records cat /etc/passwd and cat /nonexistent in the lab
// kernel and runs kcovdf's lab tests on them, which a plain go test skips
// for want of a real trace: flow follows -ENOENT up the open path, diff
// exits 1 with the failed open ranked first, every export format is read
// back (JSON Lines decoded, the Perfetto file walked field by field, the
// Parquet tables counted by DuckDB against the call tree, the number of
// do_sys_openat2 calls among them), and show --redact and export --redact
// leave none of the trace's kernel addresses. make e2e runs it.
//
//	KCOVDF_E2E=1 go test -run TestAnalysisE2E -v ./e2e
func TestAnalysisE2E(t *testing.T) {
	needEnv(t, "KCOVDF_E2E", "boot the lab kernel and trace cat /etc/passwd and cat /nonexistent")
	const script = `set -e
kcovdf record -o cat.kdf -- cat /etc/passwd
kcovdf record -o enoent.kdf -- cat /nonexistent || true
`
	dir, k, _ := runGuest(t, lab.KernelOptions{}, script)
	wd, _ := os.Getwd()
	repo, err := lab.FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	// The go that runs this test, or the one on PATH.
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	cmd := exec.CommandContext(ctx, gobin, "test", "-count=1", "-v",
		"-run", `^TestLab(Export|ExportFormats|FlowDiff|Redact)$`, "./cmd/kcovdf")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(),
		"KCOVDF_TRACE="+filepath.Join(dir, "cat.kdf"),
		"KCOVDF_TRACE_NOENT="+filepath.Join(dir, "enoent.kdf"),
		"KCOVDF_VMLINUX="+k.Vmlinux)
	out, err := cmd.CombinedOutput()
	t.Logf("go test ./cmd/kcovdf:\n%s", out)
	if err != nil {
		t.Fatalf("the lab tests failed: %v", err)
	}
	for _, name := range []string{"TestLabExport", "TestLabExportFormats", "TestLabFlowDiff", "TestLabRedact"} {
		if !regexp.MustCompile(`(?m)^--- PASS: ` + name + ` `).Match(out) {
			t.Errorf("%s did not pass (skipped?)", name)
		}
	}
}
