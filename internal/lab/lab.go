// Package lab builds a Linux 6.12 kernel instrumented with kcov dataflow,
// packs a busybox initramfs with the kcovdf binaries and the kernel
// selftest, and boots it under QEMU (TCG) to run commands in the guest.
//
// Everything it builds is cached by a content hash of its inputs, so a
// second build with nothing changed takes seconds:
//
//	l, _ := lab.New(lab.Config{RepoDir: dir})
//	k, _ := l.BuildKernel(ctx, lab.KernelOptions{})
//	ir, _ := l.BuildInitramfs(ctx, lab.InitramfsOptions{Selftest: true})
//	res, _ := l.Run(ctx, lab.Machine{Kernel: k, Initramfs: ir},
//		lab.RunOptions{Args: []string{"kcov_dataflow_test"}, Dir: out})
package lab

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Module is the Go module path of the source tree the lab builds from.
const Module = "github.com/kcovdf/kcovdf"

// Config says where the lab finds its inputs and keeps its outputs.
type Config struct {
	// RepoDir is the kcovdf source tree (with compiler/, kernel/, cmd/).
	// Empty: found by walking up from the working directory.
	RepoDir string
	// CacheDir holds everything built. Empty: DefaultCacheDir().
	CacheDir string
	// Jobs is make's -j. Zero: the number of CPUs.
	Jobs int
	// Progress receives step lines; nil discards them.
	Progress io.Writer
}

// Lab builds and boots kernels. It holds no global state; several Labs may
// share a cache directory (builds of one kernel variant are serialised by
// a lock file).
type Lab struct {
	repo     string
	cache    string
	jobs     int
	progress *Progress
}

// New checks the configuration and returns a Lab.
func New(cfg Config) (*Lab, error) {
	repo := cfg.RepoDir
	if repo == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		repo, err = FindRepo(wd)
		if err != nil {
			return nil, err
		}
	}
	repo, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	cache := cfg.CacheDir
	if cache == "" {
		cache, err = DefaultCacheDir()
		if err != nil {
			return nil, err
		}
	}
	cache, err = filepath.Abs(cache)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(repo, cache); err == nil && !strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("lab: cache directory %s is inside the source tree %s; pick one outside it (--cache or $KCOVDF_CACHE)", cache, repo)
	}
	jobs := cfg.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	return &Lab{repo: repo, cache: cache, jobs: jobs, progress: NewProgress(cfg.Progress)}, nil
}

// CacheDir returns the directory where the lab keeps what it builds.
func (l *Lab) CacheDir() string { return l.cache }

// RepoDir returns the source tree the lab builds from.
func (l *Lab) RepoDir() string { return l.repo }

// DefaultCacheDir is $KCOVDF_CACHE, else $XDG_CACHE_HOME/kcovdf, else
// ~/.cache/kcovdf.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("KCOVDF_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kcovdf"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("lab: no cache directory: %v (set KCOVDF_CACHE)", err)
	}
	return filepath.Join(home, ".cache", "kcovdf"), nil
}

// FindRepo walks up from dir to the directory whose go.mod declares Module.
func FindRepo(dir string) (string, error) {
	d := dir
	for {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) == 2 && f[0] == "module" && f[1] == Module {
					return d, nil
				}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("lab: %s is not inside the kcovdf source tree (module %s); run there or pass --repo", dir, Module)
		}
		d = parent
	}
}
