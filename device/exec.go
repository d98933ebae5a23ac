//go:build linux

package device

import (
	"bufio"
	"context"
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
		fmt.Fprintf(os.Stderr, "kcovdf record: "+format+"\n", a...)
		os.Exit(127)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, childEnv+"=") {
			env = append(env, e)
		}
	}
	const fd = 3
	// The command must not see the device; the parent's reference keeps
	// the file (and so this thread's binding) alive across the exec.
	if _, err := unix.FcntlInt(fd, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		fail("device descriptor: %v", err)
	}
	d := &Device{path: DefaultPath, f: os.NewFile(fd, DefaultPath)}
	if err := d.Enable(); err != nil {
		fail("%v", err)
	}
	err := unix.Exec(path, os.Args, env)
	fail("exec %s: %v", path, err)
}

// Recording is the result of RecordCommand.
type Recording struct {
	Trace    *abi.Trace
	ExitCode int // the command's exit status; -1 when killed by a signal
	// Notes are facts the user should know (size rounding, unknown KASLR
	// offset, no drop counter).
	Notes []string
}

// RecordCommand traces argv from its first instruction with a buffer of
// about words words: the current executable is started again (it must
// call ExecTracedChild in main), enables tracing on its thread and execs
// the command there. The command's standard streams are stdin, stdout,
// stderr.
func RecordCommand(ctx context.Context, path string, words int, argv []string, stdin io.Reader, stdout, stderr io.Writer) (*Recording, error) {
	if len(argv) == 0 {
		return nil, errors.New("record: no command given")
	}
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("record: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("record: cannot re-execute kcovdf: %v", err)
	}
	d, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	rec := &Recording{}
	words, why, err := d.Setup(words)
	if err != nil {
		return nil, err
	}
	if why != "" {
		rec.Notes = append(rec.Notes, "buffer "+why)
	}
	cmd := exec.CommandContext(ctx, self, argv...)
	cmd.Args = argv // argv[0] as the user wrote it
	cmd.Path = self
	cmd.Env = append(os.Environ(), childEnv+"="+bin)
	cmd.ExtraFiles = []*os.File{d.File()}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	started := time.Now().UTC()
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		rec.ExitCode = exitErr.ExitCode()
	default:
		return nil, fmt.Errorf("record: run %s: %v", argv[0], err)
	}
	words0 := d.Snapshot()
	meta := CaptureMeta(words, words0[0])
	meta.Command = argv
	meta.Captured = started
	if n, err := d.Dropped(); err == nil {
		meta.Dropped = &n
		meta.Overflowed = n > 0
	} else {
		rec.Notes = append(rec.Notes, err.Error()+": overflow is judged from the free space left")
		meta.Overflowed = uint64(words-1)-words0[0] < abi.HeaderWords+1
	}
	if !meta.KASLROffset.Known {
		rec.Notes = append(rec.Notes, "KASLR offset unknown (/proc/kallsyms hides addresses): symbolize against this boot's kallsyms")
	}
	rec.Trace = &abi.Trace{Meta: meta, Words: words0}
	return rec, nil
}

// linkTextStart is where x86-64 kernels link _text without KASLR
// (__START_KERNEL_map + the default CONFIG_PHYSICAL_START).
const linkTextStart = 0xffffffff81000000

// CaptureMeta describes a capture on this machine: kernel release and
// KASLR offset, buffer size and fill.
func CaptureMeta(bufferWords int, fill uint64) abi.Meta {
	m := abi.Meta{Format: abi.FormatV1, BufferWords: bufferWords, Fill: fill, Source: DefaultPath}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.KernelRelease = unix.ByteSliceToString(u.Release[:])
	}
	if text, ok := kallsymsText(); ok && text >= linkTextStart {
		m.KASLROffset = abi.KnownKASLROffset(text - linkTextStart)
	}
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
