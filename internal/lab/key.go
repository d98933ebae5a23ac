package lab

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// recipe changes whenever the way the lab builds a kernel changes in a way
// that its inputs do not show; it invalidates every cached kernel.
const recipe = "kernel-3"

// KernelInputs is everything a kernel build depends on. Its hash is the
// kernel's cache key.
type KernelInputs struct {
	Recipe        string   `json:"recipe"`
	SourceVersion string   `json:"linux_source_version"` // dpkg version of linux-source-6.12
	Clang         string   `json:"clang"`                // clang-19 --version, first line
	Plugin        string   `json:"plugin"`               // hash of compiler/ ("" without plugin)
	Patches       []string `json:"patches"`              // "name sha256" in apply order
	Config        []string `json:"config"`               // wanted options, in order
	Select        string   `json:"select"`               // KCOV_DATAFLOW_SELECT
	MaxFields     int      `json:"max_fields,omitempty"` // KCOV_DATAFLOW_MAX_FIELDS (0: no cap, and no key change)
	UsePlugin     bool     `json:"use_plugin"`
	KASAN         bool     `json:"kasan"`
}

// Key is the content hash of the inputs (hex, 16 bytes: a cache directory
// name, not a security boundary).
func (in KernelInputs) Key() string {
	data, err := json.Marshal(in)
	if err != nil {
		panic(err) // plain strings and bools always marshal
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// HashTree hashes every regular file and symlink under dir (names relative
// to dir, modes' executable bit, contents), skipping the relative paths in
// skip, Markdown files and editor backups. A missing dir hashes as empty.
func HashTree(dir string, skip ...string) (string, error) {
	h := sha256.New()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == dir {
				return filepath.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		for _, s := range skip {
			if rel == s {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if d.IsDir() {
			return nil
		}
		// Editor droppings and documentation do not change a build.
		base := d.Name()
		if strings.HasSuffix(base, "~") || strings.HasPrefix(base, ".#") || strings.HasSuffix(base, ".swp") ||
			strings.HasSuffix(base, ".md") {
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", dir, err)
	}
	sort.Strings(files)
	for _, rel := range files {
		p := filepath.Join(dir, rel)
		st, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		var content []byte
		if st.Mode()&fs.ModeSymlink != 0 {
			t, err := os.Readlink(p)
			if err != nil {
				return "", err
			}
			content = []byte("symlink:" + t)
		} else if st.Mode().IsRegular() {
			content, err = os.ReadFile(p)
			if err != nil {
				return "", err
			}
		} else {
			continue
		}
		fmt.Fprintf(h, "%s\x00%t\x00%d\x00", rel, st.Mode()&0o111 != 0, len(content))
		h.Write(content)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// patchSeries lists kernel/patches/*.patch in lexical order with the hash
// of each: of the whole file, or only of its kernel part when it also
// changes selftests (see kernelPart), so that editing a selftest does not
// rebuild the kernel. The selftest reaches the guest through the
// initramfs, whose key is its contents. A file without a diff (the
// series' cover letter, 0000-...) is not applied and changes no kernel, so
// it is left out.
func patchSeries(dir string) ([]string, []string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.patch"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(paths)
	var series, ids []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		if !hasDiff(string(data)) {
			continue
		}
		sum := sha256.Sum256(data)
		// A patch that does not parse keeps its whole hash; applying it
		// reports the problem.
		if part, err := kernelPart(data); err == nil && part != nil {
			sum = sha256.Sum256(part)
		}
		series = append(series, p)
		ids = append(ids, filepath.Base(p)+" "+hex.EncodeToString(sum[:]))
	}
	return series, ids, nil
}

// hasDiff tells whether a patch file changes a file: a "--- " line
// followed by a "+++ " line.
func hasDiff(patch string) bool {
	lines := strings.Split(patch, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "--- ") && strings.HasPrefix(lines[i+1], "+++ ") {
			return true
		}
	}
	return false
}
