package lab

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kcovdf/kcovdf/debuginfo"
)

// Source tarball of the kernel the lab builds, from the Debian package
// linux-source-6.12.
const (
	SourcePackage = "linux-source-6.12"
	SourceTarball = "/usr/src/linux-source-6.12.tar.xz"
	clangBinary   = "clang-19"
	llvmSuffix    = "-19"
)

// Kernel is a built kernel: the files of its artifact directory.
type Kernel struct {
	Key       string
	Dir       string
	BzImage   string
	Vmlinux   string
	SystemMap string
	Config    string // the final .config
	Layout    string // layout.jsonl: the plugin's field tables, merged
	BuildLog  string
	Manifest  Manifest
	// Cached is true when nothing was built.
	Cached bool
}

// Manifest describes a kernel artifact directory (manifest.json).
type Manifest struct {
	Key      string       `json:"key"`
	Inputs   KernelInputs `json:"inputs"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Steps    []StepTime   `json:"steps"`
	// ReusedObjects is true when kbuild's object directory of a previous
	// build was reused (an incremental build).
	ReusedObjects bool `json:"reused_objects"`
	// Instrumented is the number of layout records (instrumented functions).
	Instrumented int `json:"instrumented_functions"`
}

// StepTime is the wall time of one build step and the CPU time of the
// programs it ran (the figure to compare on a machine whose cores are
// shared).
type StepTime struct {
	Name       string  `json:"name"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

func (l *Lab) kernelDir(key string) string { return filepath.Join(l.cache, "kernels", key) }

// KernelInputs computes the inputs (and so the cache key) of a kernel
// build without building anything.
func (l *Lab) KernelInputs(ctx context.Context, opts KernelOptions) (KernelInputs, error) {
	srcVersion, err := packageVersion(ctx, SourcePackage)
	if err != nil {
		return KernelInputs{}, err
	}
	clang, err := output(ctx, clangBinary, "--version")
	if err != nil {
		return KernelInputs{}, fmt.Errorf("lab: %v (install clang-19)", err)
	}
	clang, _, _ = strings.Cut(clang, "\n")
	return kernelInputs(l.repo, opts, srcVersion, clang)
}

// seriesMentions says whether any patch of the series contains word.
func seriesMentions(paths []string, word string) bool {
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), word) {
			return true
		}
	}
	return false
}

// kernelInputs is KernelInputs with the host's tool versions given.
func kernelInputs(repo string, opts KernelOptions, srcVersion, clang string) (KernelInputs, error) {
	usePlugin, sel, err := opts.Selection()
	if err != nil {
		return KernelInputs{}, err
	}
	in := KernelInputs{Recipe: recipe, KASAN: opts.KASAN, SourceVersion: srcVersion, Clang: clang}
	paths, ids, err := patchSeries(filepath.Join(repo, "kernel", "patches"))
	if err != nil {
		return in, err
	}
	in.Patches = ids
	if opts.MaxFields > 0 && !seriesMentions(paths, "KCOV_DATAFLOW_MAX_FIELDS") {
		// Else the kernel would be cached as capped but built whole.
		return in, fmt.Errorf("lab: --max-fields %d: the kernel series does not pass KCOV_DATAFLOW_MAX_FIELDS to the plugin (scripts/Makefile.kcov in kernel/patches)", opts.MaxFields)
	}
	// The dataflow Kconfig options and make variables exist only with the
	// patch series; without it the lab builds a plain KCOV kernel.
	dataflow := len(in.Patches) > 0
	for _, o := range opts.WantedOptions(dataflow) {
		in.Config = append(in.Config, o.String())
	}
	if dataflow && usePlugin {
		in.UsePlugin = true
		in.Select = sel
		in.MaxFields = opts.MaxFields
		// The plugin's sources only: its README and tests do not change
		// the kernel, and a kernel build is minutes.
		if in.Plugin, err = HashTree(filepath.Join(repo, "compiler"), "build", "tests", "README.md"); err != nil {
			return in, err
		}
	}
	return in, nil
}

// CachedKernel returns the kernel of opts when it is already built.
func (l *Lab) CachedKernel(ctx context.Context, opts KernelOptions) (*Kernel, bool, error) {
	in, err := l.KernelInputs(ctx, opts)
	if err != nil {
		return nil, false, err
	}
	k, err := loadKernel(l.kernelDir(in.Key()))
	if err != nil {
		return nil, false, nil
	}
	k.Cached = true
	return k, true, nil
}

func loadKernel(dir string) (*Kernel, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	k := &Kernel{Dir: dir}
	if err := json.Unmarshal(data, &k.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, "manifest.json"), err)
	}
	k.Key = k.Manifest.Key
	k.BzImage = filepath.Join(dir, "bzImage")
	k.Vmlinux = filepath.Join(dir, "vmlinux")
	k.SystemMap = filepath.Join(dir, "System.map")
	k.Config = filepath.Join(dir, "config")
	k.Layout = filepath.Join(dir, "layout.jsonl")
	k.BuildLog = filepath.Join(dir, "build.log")
	for _, p := range []string{k.BzImage, k.Vmlinux, k.SystemMap, k.Config, k.Layout} {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// workState records what a variant's work directory holds, so that the
// next build knows what it can reuse.
type workState struct {
	SourceVersion string   `json:"source_version"`
	Patches       []string `json:"patches"` // applied, in order
	Plugin        string   `json:"plugin"`
	Select        string   `json:"select"`
	UsePlugin     bool     `json:"use_plugin"`
}

// BuildKernel builds (or finds in the cache) the kernel of opts.
func (l *Lab) BuildKernel(ctx context.Context, opts KernelOptions) (*Kernel, error) {
	if err := l.EnsurePackages(ctx); err != nil {
		return nil, err
	}
	in, err := l.KernelInputs(ctx, opts)
	if err != nil {
		return nil, err
	}
	key := in.Key()
	dir := l.kernelDir(key)
	if k, err := loadKernel(dir); err == nil {
		k.Cached = true
		l.progress.Printf("lab: kernel %s (%s) cached in %s", key, opts.variant(), dir)
		return k, nil
	}

	work := filepath.Join(l.cache, "work", opts.variant())
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, work+".lock", l.progress)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have built it while we waited.
	if k, err := loadKernel(dir); err == nil {
		k.Cached = true
		return k, nil
	}

	b := &kernelBuild{l: l, opts: opts, in: in, key: key, work: work,
		partial: dir + ".partial", dir: dir}
	return b.run(ctx)
}

type kernelBuild struct {
	l       *Lab
	opts    KernelOptions
	in      KernelInputs
	key     string
	work    string
	partial string // the artifact directory while it is built
	dir     string
	log     string
	man     Manifest
	plugin  string        // path of the plugin .so, "" without one
	cpu     time.Duration // CPU time of the running step's commands
}

func (b *kernelBuild) step(name string, fn func(*Step) (string, error)) error {
	s := b.l.progress.Begin(name)
	b.cpu = 0
	note, err := fn(s)
	if b.cpu > 0 {
		note = strings.TrimPrefix(note+fmt.Sprintf(", %.0fs CPU", b.cpu.Seconds()), ", ")
	}
	d := s.End(note)
	if err == nil {
		b.man.Steps = append(b.man.Steps, StepTime{name, d.Round(time.Millisecond).Seconds(),
			b.cpu.Round(time.Millisecond).Seconds()})
	}
	return err
}

func (b *kernelBuild) cmd(step string) command {
	return command{op: "lab build", step: step, log: b.log, cpu: &b.cpu}
}

func (b *kernelBuild) run(ctx context.Context) (*Kernel, error) {
	b.man = Manifest{Key: b.key, Inputs: b.in, Started: time.Now().UTC()}
	os.RemoveAll(b.partial)
	if err := os.MkdirAll(b.partial, 0o755); err != nil {
		return nil, err
	}
	b.log = filepath.Join(b.partial, "build.log")
	b.l.progress.Printf("lab: building kernel %s (%s, instrument %q); log %s",
		b.key, b.opts.variant(), b.in.Select, b.log)

	if b.in.UsePlugin {
		if err := b.step("plugin", func(s *Step) (string, error) { return b.buildPlugin(ctx, s) }); err != nil {
			return nil, err
		}
	}
	src := filepath.Join(b.work, "src")
	obj := filepath.Join(b.work, "obj")
	layout := filepath.Join(b.work, "layout")
	var state workState
	readJSON(filepath.Join(b.work, "state.json"), &state)

	if err := b.step("kernel source", func(s *Step) (string, error) {
		return b.prepareSource(ctx, s, src, &state)
	}); err != nil {
		return nil, err
	}
	// kbuild tracks sources, headers, config symbols and command lines.
	// The plugin's path holds its hash, so a new plugin recompiles exactly
	// the instrumented objects, and each writes its dump anew: only the
	// old dumps go. A new selection also recompiles the objects that enter
	// or leave it, but those that stay keep their objects and would lose
	// their dumps: start over.
	if state.Select != b.in.Select || state.UsePlugin != b.in.UsePlugin {
		os.RemoveAll(obj)
		os.RemoveAll(layout)
	} else if state.Plugin != b.in.Plugin {
		os.RemoveAll(layout)
	}
	if _, err := os.Stat(filepath.Join(obj, "vmlinux")); err == nil {
		b.man.ReusedObjects = true
	}
	for _, d := range []string{obj, layout} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	state.Plugin, state.Select, state.UsePlugin = b.in.Plugin, b.in.Select, b.in.UsePlugin
	if err := writeJSON(filepath.Join(b.work, "state.json"), state); err != nil {
		return nil, err
	}

	mk := []string{"-C", src, "O=" + obj, "LLVM=" + llvmSuffix}
	if err := b.step("kernel config", func(s *Step) (string, error) {
		return b.configure(ctx, mk, obj)
	}); err != nil {
		return nil, err
	}
	if err := b.step("kernel bzImage", func(s *Step) (string, error) {
		args := append(slices.Clone(mk), fmt.Sprintf("-j%d", b.l.jobs))
		if b.in.UsePlugin {
			args = append(args, "KCOV_DATAFLOW_PLUGIN="+b.plugin,
				"KCOV_DATAFLOW_LAYOUT_DIR="+layout,
				"KCOV_DATAFLOW_SELECT="+b.in.Select)
			if b.in.MaxFields > 0 {
				args = append(args, fmt.Sprintf("KCOV_DATAFLOW_MAX_FIELDS=%d", b.in.MaxFields))
			}
		}
		args = append(args, "bzImage")
		c := b.cmd("kernel bzImage")
		n := 0
		c.lineFn = func(line string) {
			f := strings.Fields(line)
			if len(f) == 2 && (f[0] == "CC" || f[0] == "LD" || f[0] == "AR" || f[0] == "AS") {
				n++
				s.Status(fmt.Sprintf("[%d] %s %s", n, f[0], f[1]))
			}
		}
		if err := c.run(ctx, "make", args...); err != nil {
			return "", err
		}
		if b.man.ReusedObjects {
			return fmt.Sprintf("incremental, %d steps", n), nil
		}
		return fmt.Sprintf("%d steps", n), nil
	}); err != nil {
		return nil, err
	}
	if err := b.step("artifacts", func(s *Step) (string, error) {
		return b.collect(obj, layout)
	}); err != nil {
		return nil, err
	}
	b.man.Finished = time.Now().UTC()
	if err := writeJSON(filepath.Join(b.partial, "manifest.json"), b.man); err != nil {
		return nil, err
	}
	os.RemoveAll(b.dir)
	if err := os.Rename(b.partial, b.dir); err != nil {
		return nil, err
	}
	b.l.pruneKernels(6, b.dir)
	k, err := loadKernel(b.dir)
	if err != nil {
		return nil, fmt.Errorf("lab build: artifacts of %s incomplete: %v", b.dir, err)
	}
	b.l.progress.Printf("lab: kernel %s ready in %s (%.0fs)", b.key, b.dir, b.man.Finished.Sub(b.man.Started).Seconds())
	return k, nil
}

func (b *kernelBuild) buildPlugin(ctx context.Context, s *Step) (string, error) {
	dir := filepath.Join(b.l.cache, "plugins", b.in.Plugin[:32])
	so := filepath.Join(dir, "kcovdf-dataflow.so")
	b.plugin = so
	if _, err := os.Stat(so); err == nil {
		return "cached", nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "partial-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	compiler := filepath.Join(b.l.repo, "compiler")
	if _, err := os.Stat(filepath.Join(compiler, "Makefile")); err != nil {
		return "", fmt.Errorf("lab build: %s has no Makefile, so the dataflow plugin cannot be built (use --instrument=none for a kernel without instrumentation)", compiler)
	}
	c := b.cmd("plugin")
	if err := c.run(ctx, "make", "-C", compiler, "OUT="+tmp); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(tmp, "kcovdf-dataflow.so")); err != nil {
		return "", &StepError{Op: "lab build", Step: "plugin", ExitCode: -1, Log: b.log,
			Err: fmt.Errorf("make -C compiler did not produce kcovdf-dataflow.so in OUT")}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(so); serr == nil {
			return "built by another process", nil
		}
		return "", err
	}
	return "built", nil
}

// prepareSource makes src the unpacked linux-source tree with exactly the
// wanted patch series applied. A tree whose series differs is brought to
// the new series by reversing the old one (kept in applied/), so that
// unchanged files keep their times and kbuild rebuilds only what changed.
func (b *kernelBuild) prepareSource(ctx context.Context, s *Step, src string, state *workState) (string, error) {
	patches, ids, err := patchSeries(filepath.Join(b.l.repo, "kernel", "patches"))
	if err != nil {
		return "", err
	}
	applied := filepath.Join(b.work, "applied")
	stateFile := filepath.Join(b.work, "state.json")
	note := "reused"
	_, statErr := os.Stat(filepath.Join(src, "Makefile"))
	fresh := statErr != nil || state.SourceVersion != b.in.SourceVersion
	var before map[string]fileStamp
	if !fresh && !slices.Equal(state.Patches, ids) {
		// Files the old or the new series touch: those whose contents end
		// up unchanged get their old times back, so that kbuild rebuilds
		// only what the change of series really changed.
		var touched []string
		for _, id := range state.Patches {
			name, _, _ := strings.Cut(id, " ")
			touched = append(touched, patchedFiles(filepath.Join(applied, name))...)
		}
		for _, p := range patches {
			touched = append(touched, patchedFiles(p)...)
		}
		before = stampFiles(src, touched)
		// Undo the old series, newest first.
		s.Status("reversing the previous patch series")
		for i := len(state.Patches) - 1; i >= 0 && !fresh; i-- {
			name, _, _ := strings.Cut(state.Patches[i], " ")
			c := b.cmd("kernel source")
			c.dir = src
			if err := c.run(ctx, "patch", "-p1", "-R", "-s", "--no-backup-if-mismatch", "-i", filepath.Join(applied, name)); err != nil {
				if ctx.Err() != nil {
					return "", err
				}
				fresh = true // the tree is not what we think: start over
			}
		}
		state.Patches = nil
		note = "re-patched"
	}
	// From here until the series is applied the tree is in between.
	os.Remove(stateFile)
	if fresh {
		s.Status("unpacking " + SourceTarball)
		note = "unpacked"
		tmp := src + ".partial"
		os.RemoveAll(tmp)
		os.RemoveAll(src)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return "", err
		}
		c := b.cmd("kernel source")
		if err := c.run(ctx, "tar", "-xJf", SourceTarball, "-C", tmp, "--strip-components=1"); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, src); err != nil {
			return "", err
		}
		state.SourceVersion = b.in.SourceVersion
		state.Patches = nil
		// Old objects were built from another tree.
		os.RemoveAll(filepath.Join(b.work, "obj"))
		os.RemoveAll(filepath.Join(b.work, "layout"))
		state.Plugin, state.Select = "", ""
	}
	if len(state.Patches) == 0 && len(ids) > 0 {
		os.RemoveAll(applied)
		if err := os.MkdirAll(applied, 0o755); err != nil {
			return "", err
		}
		for i, p := range patches {
			s.Status("applying " + filepath.Base(p))
			c := b.cmd(fmt.Sprintf("kernel source: apply %s", filepath.Base(p)))
			c.dir = src
			if err := c.run(ctx, "patch", "-p1", "-s", "--no-backup-if-mismatch", "-i", p); err != nil {
				return "", err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return "", err
			}
			if err := os.WriteFile(filepath.Join(applied, filepath.Base(p)), data, 0o644); err != nil {
				return "", err
			}
			state.Patches = append(state.Patches, ids[i])
		}
		note += fmt.Sprintf(", %d patches", len(ids))
	}
	if before != nil && !fresh {
		kept := 0
		for rel, st := range stampFiles(src, mapKeys(before)) {
			if old := before[rel]; old.sum == st.sum {
				os.Chtimes(filepath.Join(src, rel), old.mod, old.mod)
				kept++
			}
		}
		note += fmt.Sprintf(", %d of %d touched files unchanged", kept, len(before))
	}
	if err := writeJSON(stateFile, state); err != nil {
		return "", err
	}
	return note, nil
}

func (b *kernelBuild) configure(ctx context.Context, mk []string, obj string) (string, error) {
	c := b.cmd("kernel config")
	if err := c.run(ctx, "make", append(slices.Clone(mk), "tinyconfig")...); err != nil {
		return "", err
	}
	wanted := b.opts.WantedOptions(len(b.in.Patches) > 0)
	frag := ConfigFragment(wanted)
	if err := os.WriteFile(filepath.Join(obj, "kcovdf.config"), []byte(frag), 0o644); err != nil {
		return "", err
	}
	// tinyconfig's result plus our options, applied with allnoconfig: the
	// symbols that our options make visible (everything under NET, say)
	// stay off unless asked for, instead of taking their defaults.
	tiny, err := os.ReadFile(filepath.Join(obj, ".config"))
	if err != nil {
		return "", err
	}
	all := filepath.Join(obj, "kcovdf.allconfig")
	if err := os.WriteFile(all, append(tiny, frag...), 0o644); err != nil {
		return "", err
	}
	if err := c.run(ctx, "make", append(slices.Clone(mk), "KCONFIG_ALLCONFIG="+all, "allnoconfig")...); err != nil {
		return "", err
	}
	if err := c.run(ctx, "make", append(slices.Clone(mk), "olddefconfig")...); err != nil {
		return "", err
	}
	cf, err := os.Open(filepath.Join(obj, ".config"))
	if err != nil {
		return "", err
	}
	got, err := ParseConfig(cf)
	cf.Close()
	if err != nil {
		return "", err
	}
	if missing := MissingOptions(wanted, got); len(missing) > 0 {
		return "", &StepError{Op: "lab build", Step: "kernel config", ExitCode: -1,
			Log: filepath.Join(obj, ".config"),
			Err: fmt.Errorf("olddefconfig dropped wanted options (unmet dependencies?): %s", strings.Join(missing, ", "))}
	}
	return fmt.Sprintf("%d options verified", len(wanted)), nil
}

func (b *kernelBuild) collect(obj, layout string) (string, error) {
	copies := []struct{ from, to string }{
		{filepath.Join(obj, "arch", "x86", "boot", "bzImage"), "bzImage"},
		{filepath.Join(obj, "vmlinux"), "vmlinux"},
		{filepath.Join(obj, "System.map"), "System.map"},
		{filepath.Join(obj, ".config"), "config"},
	}
	for _, c := range copies {
		if err := copyFile(c.from, filepath.Join(b.partial, c.to)); err != nil {
			return "", fmt.Errorf("lab build: collect %s: %v", c.to, err)
		}
	}
	fix := LayoutFixups{SourceDir: filepath.Join(b.work, "src")}
	if sm, err := os.Open(filepath.Join(b.partial, "System.map")); err == nil {
		fix.Addrs, err = TextSymbols(sm)
		sm.Close()
		if err != nil {
			return "", fmt.Errorf("lab build: read System.map: %v", err)
		}
	}
	n, err := MergeLayouts(layout, filepath.Join(b.partial, "layout.jsonl"), fix)
	if err != nil {
		return "", fmt.Errorf("lab build: merge layout dumps of %s: %v", layout, err)
	}
	b.man.Instrumented = n
	return fmt.Sprintf("%d layout records", n), nil
}

// LayoutFixups are the lab's post-processing of layout records.
type LayoutFixups struct {
	// SourceDir is the kernel tree the objects were compiled from; a
	// "file" under it is made relative to it ("fs/open.c").
	SourceDir string
	// Addrs maps function names to addresses; records of those functions
	// get "pc". See TextSymbols.
	Addrs map[string]uint64
}

// MergeLayouts concatenates the plugin's JSON Lines dumps under dir (in
// lexical order of their paths) into out, dropping blank lines and exact
// duplicates, and applies fix to every record. The plugin names a dump kcovdf-<module hash>-<pid>.jsonl, so
// a module compiled again (an incremental build) leaves an older dump of
// the same module: only the newest dump of each module is read. It returns
// the number of records written.
func MergeLayouts(dir, out string, fix LayoutFixups) (int, error) {
	type dump struct {
		path string
		mod  time.Time
	}
	newest := map[string]dump{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".tmp") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		module := p
		if m := dumpName.FindStringSubmatch(d.Name()); m != nil {
			module = filepath.Join(filepath.Dir(p), m[1])
		}
		if old, ok := newest[module]; !ok || info.ModTime().After(old.mod) ||
			(info.ModTime().Equal(old.mod) && p > old.path) {
			newest[module] = dump{p, info.ModTime()}
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	var files []string
	for _, d := range newest {
		files = append(files, d.path)
	}
	sort.Strings(files)
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	seen := map[string]bool{}
	n := 0
	for _, p := range files {
		in, err := os.Open(p)
		if err != nil {
			f.Close()
			return n, err
		}
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || seen[line] {
				continue
			}
			seen[line] = true
			if !strings.HasPrefix(line, "#") {
				n++
				line = fix.apply(line)
			}
			w.WriteString(line)
			w.WriteByte('\n')
		}
		err = sc.Err()
		in.Close()
		if err != nil {
			f.Close()
			return n, fmt.Errorf("%s: %v", p, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return n, err
	}
	return n, f.Close()
}

func (fix LayoutFixups) apply(line string) string {
	if fix.SourceDir != "" {
		prefix := `"file":"` + strings.TrimSuffix(fix.SourceDir, "/") + "/"
		line = strings.Replace(line, prefix, `"file":"`, 1)
	}
	if fix.Addrs != nil && strings.HasPrefix(line, "{") && !strings.Contains(line, `"pc":`) {
		if _, rest, ok := strings.Cut(line, `"func":"`); ok {
			if name, _, ok := strings.Cut(rest, `"`); ok {
				if addr, ok := fix.Addrs[name]; ok {
					line = fmt.Sprintf(`{"pc":"0x%x",`, addr) + line[1:]
				}
			}
		}
	}
	return line
}

// TextSymbols reads a System.map and returns the address of every text
// symbol whose name occurs once (a static function defined in two files
// has no single address by name alone).
func TextSymbols(r io.Reader) (map[string]uint64, error) {
	syms, err := debuginfo.ReadSymbols(r, "System.map")
	addrs := map[string]uint64{}
	for name, list := range syms {
		if len(list) == 1 {
			addrs[name] = list[0].Addr
		}
	}
	return addrs, err
}

// patchedFiles lists the files a patch changes (its "+++ b/..." lines).
func patchedFiles(patch string) []string {
	data, err := os.ReadFile(patch)
	if err != nil {
		return nil
	}
	var files []string
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "+++ ")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "\t")
		if _, rel, ok := strings.Cut(rest, "/"); ok && rest != "/dev/null" {
			files = append(files, rel)
		}
	}
	return files
}

type fileStamp struct {
	sum [32]byte
	mod time.Time
}

// stampFiles hashes the files (relative to root) that exist.
func stampFiles(root string, rels []string) map[string]fileStamp {
	out := map[string]fileStamp{}
	for _, rel := range rels {
		p := filepath.Join(root, rel)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		out[rel] = fileStamp{sha256.Sum256(data), st.ModTime()}
	}
	return out
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// dumpName matches the plugin's layout dump names; group 1 is the module.
var dumpName = regexp.MustCompile(`^(kcovdf-[0-9A-Fa-f]+)-[0-9]+\.jsonl$`)

// pruneKernels keeps the newest keep kernel artifact directories (and
// always keep1).
func (l *Lab) pruneKernels(keep int, keep1 string) {
	root := filepath.Join(l.cache, "kernels")
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	type kd struct {
		path string
		mod  time.Time
	}
	var ks []kd
	for _, e := range ents {
		p := filepath.Join(root, e.Name())
		st, err := os.Stat(filepath.Join(p, "manifest.json"))
		if err != nil || p == keep1 {
			continue
		}
		ks = append(ks, kd{p, st.ModTime()})
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].mod.After(ks[j].mod) })
	for i, k := range ks {
		if i >= keep-1 {
			os.RemoveAll(k.path)
		}
	}
}

// lockFile takes an exclusive flock on path, waiting (and saying so) while
// another process holds it.
func lockFile(ctx context.Context, path string, p *Progress) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %v", path, err)
		}
		if !said {
			p.Printf("lab: waiting for another build holding %s", path)
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
