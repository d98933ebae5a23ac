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
	"slices"
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

// childFollowEnv, when set, is the chunk size in words: the child enables
// follow mode (KCOV_DF_ENABLE_FOLLOW) instead of ENABLE.
const childFollowEnv = "KCOVDF_EXEC_FOLLOW"

// childStatusEnv names the descriptor on which the child reports a failure
// before the exec, for the parent to return as an error; the exec closes
// it, so the parent reads nothing at all when the command started.
const childStatusEnv = "KCOVDF_EXEC_STATUS"

// childEnvs are the variables of the re-executed child, which the command
// must not see.
var childEnvs = []string{childEnv, childDeviceEnv, childKcovEnv, childFollowEnv, childStatusEnv}

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
	var status *os.File
	if fd, err := strconv.Atoi(os.Getenv(childStatusEnv)); err == nil {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err == nil {
			status = os.NewFile(uintptr(fd), "status")
		}
	}
	fail := func(err error) {
		if status != nil {
			reportChildFailure(status, err)
			os.Exit(127)
		}
		// The prefix of RecordCommand's own errors: the program that
		// embeds this package has a name of its own.
		fmt.Fprintf(os.Stderr, "record: %v\n", err)
		os.Exit(127)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, e := range os.Environ() {
		name, _, _ := strings.Cut(e, "=")
		if !slices.Contains(childEnvs, name) {
			env = append(env, e)
		}
	}
	const fd = 3
	// The command must not see the device; the parent's reference keeps
	// the file (and so this thread's binding) alive across the exec.
	if _, err := unix.FcntlInt(fd, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		fail(fmt.Errorf("device descriptor: %w", err))
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
			fail(fmt.Errorf("kcov descriptor: %w", err))
		}
		k := &Kcov{path: kpath, f: os.NewFile(kfd, kpath)}
		if err := k.Enable(); err != nil {
			fail(err)
		}
	}
	if chunk := os.Getenv(childFollowEnv); chunk != "" {
		c, err := strconv.Atoi(chunk)
		if err != nil {
			fail(fmt.Errorf("%s=%q: not a chunk size", childFollowEnv, chunk))
		}
		if err := d.EnableFollow(c); err != nil {
			fail(err)
		}
	} else if err := d.Enable(); err != nil {
		fail(err)
	}
	err := unix.Exec(path, os.Args, env)
	fail(&os.PathError{Op: "exec", Path: path, Err: err})
}

// reportChildFailure writes err for the parent, one line: the operation,
// the file and the errno when err has them, else the text.
func reportChildFailure(w io.Writer, err error) {
	var op *OpError
	var pe *os.PathError
	var errno unix.Errno
	switch {
	case errors.As(err, &op) && errors.As(err, &errno):
		fmt.Fprintf(w, "%s\t%s\t%d\n", op.Op, op.Path, errno)
	case errors.As(err, &pe) && errors.As(err, &errno):
		fmt.Fprintf(w, "%s\t%s\t%d\n", pe.Op, pe.Path, errno)
	default:
		fmt.Fprintf(w, "\t\t0\t%s\n", err)
	}
}

// childFailure turns what the child reported into its error again: an
// *OpError (with its sentinel and explanation) for the device and kcov,
// an *os.PathError for the exec; nil when it reported nothing.
func childFailure(report string) error {
	report = strings.TrimSuffix(report, "\n")
	if report == "" {
		return nil
	}
	fs := strings.SplitN(report, "\t", 4)
	if len(fs) < 3 {
		return fmt.Errorf("record: the traced child failed before the exec: %s", report)
	}
	n, err := strconv.Atoi(fs[2])
	switch {
	case err != nil || n < 0:
		return fmt.Errorf("record: the traced child failed before the exec: %s", report)
	case n == 0 && len(fs) == 4:
		return fmt.Errorf("record: %s", fs[3])
	case fs[0] == "exec":
		return fmt.Errorf("record: %w", &os.PathError{Op: "exec", Path: fs[1], Err: unix.Errno(n)})
	}
	return &OpError{Op: fs[0], Path: fs[1], Err: unix.Errno(n)}
}

// Recording is the result of RecordCommand.
type Recording struct {
	Trace    *abi.Trace
	ExitCode int    // the command's exit status; -1 when killed by a signal
	Sizing   Sizing // the buffer size used, and why when not the one asked for
	// NoDropCounter: the kernel has no drop counter, so Meta.Overflowed
	// is judged from the free space left and Meta.Dropped is nil.
	NoDropCounter bool
	// Killed lists, in follow mode, the processes of the tree that were
	// still running when the context was cancelled and that Record then
	// killed; their streams end there.
	Killed []int
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
	Kcov      bool
	KcovPath  string
	KcovWords int
	// Follow traces the command's whole process tree (docs/follow.md):
	// the child enables KCOV_DF_ENABLE_FOLLOW with chunks of ChunkWords
	// words (0: abi.FollowDefaultChunk), and Record waits for every
	// process of the tree, not just the command. Not with Kcov, which
	// traces one thread.
	Follow     bool
	ChunkWords int
	// Notes, when not nil, gets Record's own messages while it runs: in
	// follow mode, which processes of the tree outlive the command.
	Notes          io.Writer
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Record is RecordCommand with options: with Kcov set, classic kcov is
// enabled on the same thread just before dataflow, so both follow the
// exec and see the same run.
//
// In follow mode this process becomes a child subreaper while the command
// runs (prctl PR_SET_CHILD_SUBREAPER, turned off again after), so that the
// processes of the tree whose parent exits are re-parented to it, and
// Record waits for every child it has, until none is left: the caller
// must not run other child processes meanwhile. When ctx is cancelled it
// kills what is left of the tree, and returns what was recorded.
func Record(ctx context.Context, o RecordOptions) (*Recording, error) {
	path, words, argv := o.Path, o.Words, o.Argv
	if len(argv) == 0 {
		return nil, errors.New("record: no command given")
	}
	if o.Follow && o.Kcov {
		return nil, errors.New("record: classic kcov traces one thread; it cannot follow a process tree (record with one of the two)")
	}
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("record: cannot re-execute this program: %w", err)
	}
	chunk := cmp.Or(o.ChunkWords, abi.FollowDefaultChunk)
	if o.Follow && !abi.ValidChunkWords(uint64(chunk), uint64(RoundWords(words).Words)) {
		return nil, fmt.Errorf("record: chunks of %d words in a buffer of %d words: a chunk is a power of two from %d to %d words, smaller than the buffer", chunk, RoundWords(words).Words, abi.FollowMinChunk, abi.FollowMaxChunk)
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
	return recordOn(ctx, d, o, rec, self, bin)
}

// recordOn is Record once the device d has its buffer: it runs the
// command through self, the re-executed program, and reads the buffer
// after.
func recordOn(ctx context.Context, d *Device, o RecordOptions, rec *Recording, self, bin string) (*Recording, error) {
	argv, stdin, stdout, stderr := o.Argv, o.Stdin, o.Stdout, o.Stderr
	words := len(d.Words())
	chunk := cmp.Or(o.ChunkWords, abi.FollowDefaultChunk)
	var err error
	cmd := exec.Command(self, argv...)
	if !o.Follow {
		// Follow mode kills the whole tree itself.
		cmd = exec.CommandContext(ctx, self, argv...)
	}
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
	if o.Follow {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", childFollowEnv, chunk))
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	defer statusR.Close()
	cmd.ExtraFiles = append(cmd.ExtraFiles, statusW)
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", childStatusEnv, 2+len(cmd.ExtraFiles)))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if o.Follow {
		if err := setSubreaper(true); err != nil {
			statusW.Close()
			return nil, err
		}
		defer setSubreaper(false)
	}
	started := time.Now().UTC()
	err = cmd.Start()
	statusW.Close()
	if err != nil {
		return nil, fmt.Errorf("record: run %s: %w", argv[0], err)
	}
	// EOF at the exec (the descriptor is close-on-exec), or the failure.
	report, _ := io.ReadAll(statusR)
	if err := childFailure(string(report)); err != nil {
		if o.Follow {
			waitTree(context.Background(), cmd, nil)
		} else {
			cmd.Wait()
		}
		return nil, err
	}
	if o.Follow {
		t := waitTree(ctx, cmd, o.Notes)
		rec.ExitCode, rec.Killed = t.exitCode, t.killed
		if t.err != nil {
			return nil, fmt.Errorf("record: waiting for the tree of %s: %w", argv[0], t.err)
		}
	} else {
		err = cmd.Wait()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exitErr):
			rec.ExitCode = exitErr.ExitCode()
		default:
			return nil, fmt.Errorf("record: run %s: %w", argv[0], err)
		}
	}
	var words0 []uint64
	if o.Follow {
		words0 = followWords(d.Words(), chunk)
	} else {
		words0 = d.Snapshot()
	}
	meta := CaptureMeta(d.Path(), words, words0[0])
	meta.Command = argv
	meta.Captured = started
	if o.Follow {
		meta.Follow = &abi.FollowMeta{ChunkWords: chunk}
	}
	switch n, err := d.Dropped(); {
	case err == nil:
		meta.Dropped = &n
		meta.Overflowed = n > 0
	case errors.Is(err, ErrNotSupported):
		// A kernel without the drop counter has no follow mode either.
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

// followWords copies a follow-mode area up to its last chunk that carries
// a tag: the chunks after it were never handed out. A trace file stores
// the chunks in place, and its readers take the missing ones as untaken.
func followWords(area []uint64, chunk int) []uint64 {
	snap := abi.SnapshotFollow(area, chunk)
	end := 1
	for off := 1; off+chunk <= len(snap); off += chunk {
		if snap[off+abi.ChunkTag] != 0 {
			end = off + chunk
		}
	}
	return snap[:end:end]
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
