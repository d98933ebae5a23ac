package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BusyboxPath is the static busybox of the Debian package busybox-static.
const BusyboxPath = "/bin/busybox"

// SelftestName is the selftest's name in the guest (in GuestBinDir, on PATH).
const SelftestName = "kcov_dataflow_test"

// File is a host file to install into the initramfs.
type File struct {
	Host  string // path on the host
	Guest string // absolute path in the guest
}

// InitramfsOptions say what goes into the initramfs besides busybox and
// /init.
type InitramfsOptions struct {
	// GoPackages are built with CGO_ENABLED=0 (static) from the source tree
	// and installed in GuestBinDir under their base names. Nil means
	// ./cmd/kcovdf.
	GoPackages []string
	// Selftest compiles the series' kselftest (SelftestSource in the
	// patched tree, rebuilt from kernel/patches) with gcc -static into
	// GuestBinDir/kcov_dataflow_test (an error when the series lacks it).
	Selftest bool
	// Files are further host files (static binaries, data). The C
	// programs of GuestPrograms are always there.
	Files []File
}

// Initramfs is a built initramfs archive.
type Initramfs struct {
	Path   string
	Key    string
	Cached bool
	// Files lists the guest paths of the regular files it holds.
	Files []string
}

// BuildInitramfs builds the Go binaries and the selftest, then writes (or
// finds in the cache) the archive of their contents.
func (l *Lab) BuildInitramfs(ctx context.Context, opts InitramfsOptions) (*Initramfs, error) {
	root := filepath.Join(l.cache, "initramfs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	// Failed builds keep their directory (and log) for a day.
	if ents, err := os.ReadDir(root); err == nil {
		for _, e := range ents {
			if info, err := e.Info(); err == nil && e.IsDir() && strings.HasPrefix(e.Name(), "build-") &&
				time.Since(info.ModTime()) > 24*time.Hour {
				os.RemoveAll(filepath.Join(root, e.Name()))
			}
		}
	}
	tmp, err := os.MkdirTemp(root, "build-")
	if err != nil {
		return nil, err
	}
	log := filepath.Join(tmp, "build.log")
	s := l.progress.Begin("initramfs")
	ir, err := l.buildInitramfs(ctx, s, opts, tmp, log)
	if err == nil {
		os.RemoveAll(tmp)
	} // else keep the log the error names
	note := ""
	if ir != nil {
		note = "cached"
		if !ir.Cached {
			note = "written"
		}
	}
	s.End(note)
	return ir, err
}

func (l *Lab) buildInitramfs(ctx context.Context, s *Step, opts InitramfsOptions, tmp, log string) (*Initramfs, error) {
	var entries []cpioEntry
	addFile := func(host, guest string, mode os.FileMode) error {
		data, err := os.ReadFile(host)
		if err != nil {
			return fmt.Errorf("lab initramfs: %v", err)
		}
		perm := uint32(mode.Perm())
		if perm == 0 {
			perm = 0o644
		}
		entries = append(entries, cpioEntry{Name: guest, Mode: cpioFile | perm, Data: data})
		return nil
	}

	// busybox and its applets.
	if err := addFile(BusyboxPath, "/bin/busybox", 0o755); err != nil {
		return nil, fmt.Errorf("%v (install busybox-static)", err)
	}
	list, err := output(ctx, BusyboxPath, "--list-full")
	if err != nil {
		return nil, fmt.Errorf("lab initramfs: %v", err)
	}
	for _, a := range strings.Fields(list) {
		if a == "bin/busybox" || a == "init" || a == "linuxrc" {
			continue
		}
		target := path.Join(strings.Repeat("../", strings.Count(a, "/")), "bin/busybox")
		entries = append(entries, cpioEntry{Name: a, Mode: cpioSymlink | 0o777, Data: []byte(target)})
	}
	entries = append(entries, cpioEntry{Name: "init", Mode: cpioFile | 0o755, Data: []byte(InitScript())})
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "root", "etc", "host", "ctl", "usr/local/bin"} {
		entries = append(entries, cpioEntry{Name: d, Mode: cpioDir | 0o755})
	}
	entries = append(entries,
		cpioEntry{Name: "dev/console", Mode: cpioChar | 0o600, Major: 5, Minor: 1},
		cpioEntry{Name: "etc/passwd", Mode: cpioFile | 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\n")},
		cpioEntry{Name: "etc/group", Mode: cpioFile | 0o644, Data: []byte("root:x:0:\n")},
	)

	// Our static Go binaries.
	pkgs := opts.GoPackages
	if pkgs == nil {
		pkgs = []string{"./cmd/kcovdf"}
	}
	goBin, err := goTool()
	if err != nil {
		return nil, err
	}
	for _, p := range pkgs {
		s.Status("go build " + p)
		out := filepath.Join(tmp, path.Base(p))
		c := command{op: "lab initramfs", step: "go build " + p, log: log, dir: l.repo,
			env: []string{"CGO_ENABLED=0"}}
		if err := c.run(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-o", out, p); err != nil {
			return nil, err
		}
		if err := addFile(out, path.Join(GuestBinDir, path.Base(p)), 0o755); err != nil {
			return nil, err
		}
	}
	if opts.Selftest {
		s.Status("gcc " + SelftestSource)
		out := filepath.Join(tmp, SelftestName)
		if err := l.buildSelftest(ctx, tmp, log, out); err != nil {
			return nil, err
		}
		if err := addFile(out, path.Join(GuestBinDir, SelftestName), 0o755); err != nil {
			return nil, err
		}
	}
	for _, p := range GuestPrograms {
		s.Status("gcc " + p.Source)
		bin, err := l.buildProgram(ctx, p, log)
		if err != nil {
			return nil, err
		}
		if err := addFile(bin, path.Join(GuestBinDir, p.Name), 0o755); err != nil {
			return nil, err
		}
	}
	for _, f := range opts.Files {
		st, err := os.Stat(f.Host)
		if err != nil {
			return nil, fmt.Errorf("lab initramfs: %v", err)
		}
		if !path.IsAbs(f.Guest) {
			return nil, fmt.Errorf("lab initramfs: guest path %q of %s is not absolute", f.Guest, f.Host)
		}
		if err := addFile(f.Host, f.Guest, st.Mode()); err != nil {
			return nil, err
		}
	}

	// Later entries of the same name win (extra files over built-ins).
	entries = dedupEntries(entries)
	key := cpioKey(entries)
	ir := &Initramfs{Key: key, Path: filepath.Join(l.cache, "initramfs", key+".cpio")}
	for _, e := range entries {
		if e.Mode&0o170000 == cpioFile {
			ir.Files = append(ir.Files, "/"+strings.TrimPrefix(e.Name, "/"))
		}
	}
	sort.Strings(ir.Files)
	if _, err := os.Stat(ir.Path); err == nil {
		ir.Cached = true
		now := time.Now()
		os.Chtimes(ir.Path, now, now)
		return ir, nil
	}
	s.Status("writing the archive")
	f, err := os.CreateTemp(filepath.Dir(ir.Path), "cpio-")
	if err != nil {
		return nil, err
	}
	if err := writeCpio(f, entries); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	if err := os.Rename(f.Name(), ir.Path); err != nil {
		return nil, err
	}
	os.Chmod(ir.Path, 0o644)
	pruneFiles(filepath.Join(l.cache, "initramfs"), ".cpio", 8)
	return ir, nil
}

func dedupEntries(entries []cpioEntry) []cpioEntry {
	last := map[string]int{}
	for i, e := range entries {
		last[strings.Trim(path.Clean("/"+e.Name), "/")] = i
	}
	var out []cpioEntry
	for i, e := range entries {
		if last[strings.Trim(path.Clean("/"+e.Name), "/")] == i {
			out = append(out, e)
		}
	}
	return out
}

// cpioKey hashes what an archive would hold.
func cpioKey(entries []cpioEntry) string {
	es := withParents(entries)
	sort.SliceStable(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	h := sha256.New()
	for _, e := range es {
		fmt.Fprintf(h, "%s\x00%o\x00%d:%d\x00%d\x00", e.Name, e.Mode, e.Major, e.Minor, len(e.Data))
		h.Write(e.Data)
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// goTool finds the go command: on PATH, else in GOROOT.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if r := os.Getenv("GOROOT"); r != "" {
		return filepath.Join(r, "bin", "go"), nil
	}
	for _, p := range []string{"/usr/local/go/bin/go", "/usr/lib/go/bin/go"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("lab initramfs: no go command on PATH (needed to build the guest's kcovdf)")
}

// pruneFiles keeps the newest keep files with suffix in dir.
func pruneFiles(dir, suffix string, keep int) {
	pruneOldest(dir, keep, func(e os.DirEntry) bool { return strings.HasSuffix(e.Name(), suffix) })
}

// pruneOldest keeps the keep most recently modified entries of dir that
// match, and removes the other matching ones.
func pruneOldest(dir string, keep int, match func(os.DirEntry) bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type fe struct {
		p string
		t int64
	}
	var fs []fe
	for _, e := range ents {
		if !match(e) {
			continue
		}
		if info, err := e.Info(); err == nil {
			fs = append(fs, fe{filepath.Join(dir, e.Name()), info.ModTime().UnixNano()})
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].t > fs[j].t })
	for i := keep; i < len(fs); i++ {
		os.RemoveAll(fs[i].p)
	}
}
