package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// GuestProgram is a C program of the source tree that every initramfs
// holds, compiled on the host with gcc (GuestCFlags).
type GuestProgram struct {
	// Source is its path in the source tree, slash-separated.
	Source string
	// Name is the binary's name in GuestBinDir.
	Name string
}

// GuestPrograms are the C programs of the guest. Adding one is one line.
var GuestPrograms = []GuestProgram{
	// The conformance target's tasks: fork, thread and exec on command.
	{Source: "conformance/treetask/treetask.c", Name: "kcovdf-treetask"},
	// Four threads with four syscall mixes, traced in follow mode.
	{Source: "e2e/threads/threads.c", Name: "kcovdf-threads"},
}

// GuestCFlags compile a guest program: static, since the guest has no C
// library, and with threads.
var GuestCFlags = []string{"-static", "-O2", "-Wall", "-pthread"}

// programsKept is how many compiled programs the cache keeps.
const programsKept = 32

// buildProgram returns the compiled binary of p, from the cache when its
// source, the compiler and the flags are those of an earlier build.
func (l *Lab) buildProgram(ctx context.Context, p GuestProgram, log string) (string, error) {
	src, err := os.ReadFile(filepath.Join(l.repo, filepath.FromSlash(p.Source)))
	if err != nil {
		return "", fmt.Errorf("lab initramfs: guest program %s: %v", p.Name, err)
	}
	version, err := output(ctx, "gcc", "--version")
	if err != nil {
		return "", fmt.Errorf("lab initramfs: gcc, needed for the guest's C programs: %v (install gcc)", err)
	}
	version, _, _ = strings.Cut(version, "\n")
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", p.Source, p.Name, version, strings.Join(GuestCFlags, " "))
	h.Write(src)
	key := hex.EncodeToString(h.Sum(nil)[:16])
	root := filepath.Join(l.cache, "programs")
	out := filepath.Join(root, key, p.Name)
	if _, err := os.Stat(out); err == nil {
		now := time.Now()
		os.Chtimes(filepath.Dir(out), now, now)
		return out, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// From the source tree with a relative path: __FILE__ and the debug
	// info must not depend on where the tree is.
	c := command{op: "lab initramfs", step: "compile " + p.Source, log: log, dir: l.repo}
	args := append(append([]string{}, GuestCFlags...), "-o", filepath.Join(tmp, p.Name), p.Source)
	if err := c.run(ctx, "gcc", args...); err != nil {
		return "", err
	}
	// Another process may have compiled it meanwhile: either binary is good.
	if err := os.Rename(tmp, filepath.Dir(out)); err != nil {
		if _, serr := os.Stat(out); serr != nil {
			return "", err
		}
	}
	// The build- directories of compilations in progress stay.
	pruneOldest(root, programsKept, func(e os.DirEntry) bool { return e.IsDir() && !strings.HasPrefix(e.Name(), "build-") })
	return out, nil
}
