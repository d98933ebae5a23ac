//go:build linux

package device

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kcovdf/kcovdf/abi"
	"golang.org/x/sys/unix"
)

// childEnv carries, to a re-executed kcovdf, the path of the program to
// trace; the device is its file descriptor 3.
const childEnv = "KCOVDF_EXEC_TRACED"

// childDeviceEnv names the device file behind descriptor 3, for errors.
const childDeviceEnv = "KCOVDF_EXEC_DEVICE"

// childKcovEnv, when set, names classic kcov's file behind descriptor 4,
// to be enabled (KCOV_TRACE_PC) beside dataflow before the exec.
const childKcovEnv = "KCOVDF_EXEC_KCOV"

// ExecTracedChild must be called first thing in main by programs that use
// RecordCommand: in the re-executed child it enables tracing on its
// thread and execs the command on that same thread, so the command is
// traced from its first instruction. Elsewhere it returns at once.
func ExecTracedChild() {
	path := os.Getenv(childEnv)
	if path == "" {
		return
	}
	runtime.LockOSThread()
	fail := func(format string, a ...any) {
		// The prefix of RecordCommand's own errors: the program that
		// embeds this package has a name of its own.
		fmt.Fprintf(os.Stderr, "record: "+format+"\n", a...)
		os.Exit(127)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, childEnv+"=") && !strings.HasPrefix(e, childDeviceEnv+"=") && !strings.HasPrefix(e, childKcovEnv+"=") {
			env = append(env, e)
		}
	}
	const fd = 3
	// The command must not see the device; the parent's reference keeps
	// the file (and so this thread's binding) alive across the exec.
	if _, err := unix.FcntlInt(fd, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		fail("device descriptor: %v", err)
	}
	dev := cmp.Or(os.Getenv(childDeviceEnv), DefaultPath)
	d := &Device{path: dev, f: os.NewFile(fd, dev)}
	// Classic kcov first: dataflow then records the kcov ENABLE, and
	// kcov's first PCs are the return from it, which Align leaves
	// outside every call; the other way round dataflow would start in
	// the middle of its own ENABLE.
	if kpath := os.Getenv(childKcovEnv); kpath != "" {
		const kfd = 4
		if _, err := unix.FcntlInt(kfd, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			fail("kcov descriptor: %v", err)
		}
		k := &Kcov{path: kpath, f: os.NewFile(kfd, kpath)}
		if err := k.Enable(); err != nil {
			fail("%v", err)
		}
	}
	if err := d.Enable(); err != nil {
		fail("%v", err)
	}
	err := unix.Exec(path, os.Args, env)
	fail("exec %s: %v", path, err)
}

// Recording is the result of RecordCommand.
type Recording struct {
	Trace    *abi.Trace
	ExitCode int    // the command's exit status; -1 when killed by a signal
	Sizing   Sizing // the buffer size used, and why when not the one asked for
	// NoDropCounter: the kernel has no drop counter, so Meta.Overflowed
	// is judged from the free space left and Meta.Dropped is nil.
	NoDropCounter bool
}

// RecordCommand traces argv from its first instruction with a buffer of
// about words words: the current executable is started again (it must
// call ExecTracedChild in main), enables tracing on its thread and execs
// the command there. The command's standard streams are stdin, stdout,
// stderr.
func RecordCommand(ctx context.Context, path string, words int, argv []string, stdin io.Reader, stdout, stderr io.Writer) (*Recording, error) {
	return Record(ctx, RecordOptions{Path: path, Words: words, Argv: argv, Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// RecordOptions say what Record traces and how.
type RecordOptions struct {
	Path  string // the dataflow device; "" for DefaultPath
	Words int    // its buffer, about
	Argv  []string
	// Kcov also collects classic kcov's coverage (KCOV_TRACE_PC) of the
	// same thread, enabled the same way before the exec, into the trace's
	// KcovPCs; KcovPath ("" for KcovPath) and KcovWords size it.
	Kcov           bool
	KcovPath       string
	KcovWords      int
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Record is RecordCommand with options: with Kcov set, classic kcov is
// enabled on the same thread just before dataflow, so both follow the
// exec and see the same run.
func Record(ctx context.Context, o RecordOptions) (*Recording, error) {
	path, words, argv := o.Path, o.Words, o.Argv
	stdin, stdout, stderr := o.Stdin, o.Stdout, o.Stderr
	if len(argv) == 0 {
		return nil, errors.New("record: no command given")
	}
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("record: cannot re-execute this program: %w", err)
	}
	d, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	rec := &Recording{}
	if rec.Sizing, err = d.Setup(words); err != nil {
		return nil, err
	}
	words = rec.Sizing.Words
	cmd := exec.CommandContext(ctx, self, argv...)
	cmd.Args = argv // argv[0] as the user wrote it
	cmd.Path = self
	cmd.Env = append(os.Environ(), childEnv+"="+bin, childDeviceEnv+"="+d.Path())
	cmd.ExtraFiles = []*os.File{d.File()}
	var k *Kcov
	if o.Kcov {
		if k, err = OpenKcov(o.KcovPath, cmp.Or(o.KcovWords, words)); err != nil {
			return nil, err
		}
		defer k.Close()
		cmd.Env = append(cmd.Env, childKcovEnv+"="+k.path)
		cmd.ExtraFiles = append(cmd.ExtraFiles, k.f)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	started := time.Now().UTC()
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		rec.ExitCode = exitErr.ExitCode()
	default:
		return nil, fmt.Errorf("record: run %s: %w", argv[0], err)
	}
	words0 := d.Snapshot()
	meta := CaptureMeta(d.Path(), words, words0[0])
	meta.Command = argv
	meta.Captured = started
	switch n, err := d.Dropped(); {
	case err == nil:
		meta.Dropped = &n
		meta.Overflowed = n > 0
	case errors.Is(err, ErrNotSupported):
		rec.NoDropCounter = true
		meta.Overflowed = uint64(words-1)-words0[0] < abi.HeaderWords+1
	default:
		return nil, err
	}
	rec.Trace = &abi.Trace{Meta: meta, Words: words0}
	if k != nil {
		rec.Trace.KcovPCs = k.PCs()
		meta.Kcov = &abi.KcovMeta{PCs: uint64(len(rec.Trace.KcovPCs)), Count: k.Count(), BufferWords: k.Cap() + 1}
		rec.Trace.Meta = meta
	}
	return rec, nil
}

// CaptureMeta describes a capture through the device file source on this
// machine: kernel release and KASLR offset (empty when /proc/kallsyms
// hides addresses), build id, loaded modules, buffer size and fill.
func CaptureMeta(source string, bufferWords int, fill uint64) abi.Meta {
	m := abi.Meta{Format: abi.FormatV1, BufferWords: bufferWords, Fill: fill, Source: source}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.KernelRelease = unix.ByteSliceToString(u.Release[:])
	}
	if text, ok := kallsymsText(); ok && text >= abi.LinkText {
		m.KASLROffset = abi.KnownKASLROffset(text - abi.LinkText)
	}
	if notes, err := os.ReadFile("/sys/kernel/notes"); err == nil {
		m.BuildID = abi.NoteBuildID(notes, binary.LittleEndian)
	}
	m.Modules = loadedModules()
	return m
}

// kallsymsText reads the runtime address of _text; false when kallsyms is
// missing or hides addresses (kptr_restrict).
func kallsymsText() (uint64, bool) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 3 && fs[2] == "_text" {
			v, err := strconv.ParseUint(fs[0], 16, 64)
			return v, err == nil && v != 0
		}
	}
	return 0, false
}

// loadedModules lists /proc/modules with the addresses of each module's
// text sections (readable by root only; modules without them are left
// out).
func loadedModules() []abi.Module {
	data, err := os.ReadFile("/proc/modules")
	if err != nil {
		return nil
	}
	var mods []abi.Module
	for _, line := range strings.Split(string(data), "\n") {
		name, _, _ := strings.Cut(line, " ")
		if name == "" {
			continue
		}
		dir := "/sys/module/" + name + "/sections"
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		m := abi.Module{Name: name, Sections: map[string]abi.Addr{}}
		for _, e := range ents {
			if !strings.Contains(e.Name(), "text") {
				continue
			}
			b, err := os.ReadFile(dir + "/" + e.Name())
			if err != nil {
				continue
			}
			// Zero when read without privilege: no address at all.
			if a, err := abi.ParseAddr(strings.TrimSpace(string(b))); err == nil && a != 0 {
				m.Sections[e.Name()] = a
			}
		}
		if len(m.Sections) > 0 {
			mods = append(mods, m)
		}
	}
	return mods
}
