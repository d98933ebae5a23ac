package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// The kernel selftest comes from the patch series: the lab rebuilds the
// series' files it needs from kernel/patches and takes the kselftest
// harness from the pristine source tarball, so it needs no prepared kernel
// tree (and no lock on one).
const (
	selftestsDir = "tools/testing/selftests"
	// SelftestSource is the selftest in the kernel tree the series makes.
	SelftestSource = selftestsDir + "/kcov_dataflow/kcov_dataflow_test.c"
	// selftestUAPI is the series' uapi header the selftest includes as
	// <linux/kcov_dataflow.h>.
	selftestUAPI = "include/uapi/linux/kcov_dataflow.h"
)

// selftestHarness lists the tree's kselftest headers the selftest includes.
var selftestHarness = []string{
	selftestsDir + "/kselftest_harness.h",
	selftestsDir + "/kselftest.h",
}

// harnessHeaders returns the pristine kselftest headers of the source
// tarball, keyed by tree path. Unpacking them reads the whole tarball, so
// they are kept in the cache under the source package's version.
func (l *Lab) harnessHeaders(ctx context.Context, log string) (map[string][]byte, error) {
	version, err := packageVersion(ctx, SourcePackage)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(version + "\x00" + strings.Join(selftestHarness, "\x00")))
	dir := filepath.Join(l.cache, "selftest", hex.EncodeToString(sum[:8]))
	if files, err := readTree(dir, selftestHarness); err == nil {
		return files, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// The tarball's members sit under one top directory, linux-source-6.12/.
	top := strings.TrimSuffix(filepath.Base(SourceTarball), ".tar.xz")
	args := []string{"-xJf", SourceTarball, "-C", tmp, "--strip-components=1"}
	for _, h := range selftestHarness {
		args = append(args, top+"/"+h)
	}
	c := command{op: "lab initramfs", step: "unpack the kselftest headers from " + SourceTarball, log: log}
	if err := c.run(ctx, "tar", args...); err != nil {
		return nil, err
	}
	files, err := readTree(tmp, selftestHarness)
	if err != nil {
		return nil, fmt.Errorf("lab initramfs: %s: %v", SourceTarball, err)
	}
	// Another process may have unpacked them meanwhile: either copy is good.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return nil, err
	}
	return files, nil
}

// readTree reads the files rels under dir.
func readTree(dir string, rels []string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, r := range rels {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r)))
		if err != nil {
			return nil, err
		}
		files[r] = data
	}
	return files, nil
}

// selftestTree writes into dir the part of the patched kernel tree the
// selftest compiles from: the test and the harness at their tree paths and
// the uapi header under usr/include, where "make headers" puts it
// (KHDR_INCLUDES).
func selftestTree(patches []string, harness map[string][]byte, dir string) error {
	files, err := seriesFiles(patches, harness, append([]string{SelftestSource, selftestUAPI}, selftestHarness...))
	if err != nil {
		return fmt.Errorf("lab initramfs: %v", err)
	}
	for rel, data := range files {
		dst := rel
		if rel == selftestUAPI {
			dst = "usr/include/" + strings.TrimPrefix(rel, "include/uapi/")
		}
		p := filepath.Join(dir, filepath.FromSlash(dst))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildSelftest compiles the series' selftest into out, as its kselftest
// Makefile would but static, so that it runs in the busybox guest.
func (l *Lab) buildSelftest(ctx context.Context, tmp, log, out string) error {
	patches, _, err := patchSeries(filepath.Join(l.repo, "kernel", "patches"))
	if err != nil {
		return err
	}
	if len(patches) == 0 {
		return fmt.Errorf("lab initramfs: no patches in %s: the selftest comes from the series", filepath.Join(l.repo, "kernel", "patches"))
	}
	harness, err := l.harnessHeaders(ctx, log)
	if err != nil {
		return err
	}
	tree := filepath.Join(tmp, "selftest")
	if err := selftestTree(patches, harness, tree); err != nil {
		return err
	}
	// Relative paths: the harness prints __FILE__, and the binary (so the
	// initramfs key) must not depend on where it was built.
	c := command{op: "lab initramfs", step: "compile the selftest", log: log, dir: tree}
	args := append(slices.Clone(GuestCFlags), "-isystem", "usr/include", "-o", out, SelftestSource)
	return c.run(ctx, "gcc", args...)
}
