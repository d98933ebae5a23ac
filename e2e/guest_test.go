package e2e

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/kcovdf/kcovdf/internal/lab"
)

// runGuest boots the lab kernel, runs script in a shared directory and
// returns that directory (with the traces), the kernel and the script's
// needEnv skips the test unless the variable name is 1: the end-to-end
// tests boot a kernel under QEMU, which only a run that asks for it does.
func needEnv(t *testing.T, name, what string) {
	t.Helper()
	if os.Getenv(name) != "1" {
		t.Skipf("set %s=1 to %s", name, what)
	}
}

// standard output; it fails the test unless the script exits 0.
func runGuest(t *testing.T, opts lab.KernelOptions, script string) (string, *lab.Kernel, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	wd, _ := os.Getwd()
	repo, err := lab.FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lab.New(lab.Config{RepoDir: repo, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	k, err := l.BuildKernel(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	ir, err := l.BuildInitramfs(ctx, lab.InitramfsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	res, err := l.Run(ctx, lab.Machine{Kernel: k, Initramfs: ir}, lab.RunOptions{Args: []string{"sh", "-c", script}, Dir: dir, Stdout: &stdout, Stderr: &stderr})
	t.Logf("guest stdout:\n%s\nguest stderr:\n%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("guest script exited %d", res.ExitCode)
	}
	return dir, k, stdout.String()
}
