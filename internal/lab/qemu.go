package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// QEMUBinary is the emulator the lab boots with.
const QEMUBinary = "qemu-system-x86_64"

// Machine is what to boot.
type Machine struct {
	Kernel    *Kernel
	Initramfs *Initramfs
	Memory    string // QEMU -m; "" means 1G
	CPUs      int    // QEMU -smp; 0 means 2
	// Append is added to the kernel command line.
	Append string
	// TSCKHz, when set, is the guest's TSC rate (see HostTSCKHz); boot
	// fills it in.
	TSCKHz int
}

// RunOptions say what to run in the guest and where its output goes.
type RunOptions struct {
	// Args is the command and its arguments, run with the shared directory
	// as working directory. Boot ignores it.
	Args []string
	// Dir is the host directory shared with the guest as GuestWorkDir (the
	// command's working directory); files written there stay on the host.
	// Empty: a fresh directory under the run directory.
	Dir string
	// Stdout and Stderr receive the command's output while it runs.
	Stdout, Stderr io.Writer
	// Serial, when set, receives the serial console as it is written.
	Serial io.Writer
	// SerialLog is where the console is saved; empty: RunDir/serial.log.
	SerialLog string
	// Timeout bounds the whole boot and run; zero means 10 minutes, and
	// no limit for Shell.
	Timeout time.Duration
}

// Result is the outcome of one boot.
type Result struct {
	ExitCode  int    // the command's exit status
	RunDir    string // holds cmd.sh, stdout, stderr, status and qemu.log
	SerialLog string
	Findings  []Finding
	// BootTime is the time from starting QEMU to the guest's init being
	// ready to run the command; Duration is the whole run.
	BootTime, Duration time.Duration

	op string // "lab run", "lab boot", "lab shell"
}

// CtlFile is the host path of the file the guest wrote as GuestCtlDir/name.
func (r *Result) CtlFile(name string) string { return filepath.Join(r.RunDir, "ctl", name) }

// FindingsError is a run whose serial console shows kernel reports.
type FindingsError struct {
	Op        string
	SerialLog string
	Findings  []Finding
}

func (e *FindingsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: the kernel reported %d problem(s); see %s:", e.Op, len(e.Findings), e.SerialLog)
	for i, f := range e.Findings {
		if i == 5 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Findings)-5)
			break
		}
		fmt.Fprintf(&b, "\n  %s", f)
	}
	return b.String()
}

// Check returns a *FindingsError when the serial log holds kernel reports.
func (r *Result) Check() error {
	if len(r.Findings) == 0 {
		return nil
	}
	op := r.op
	if op == "" {
		op = "lab run"
	}
	return &FindingsError{Op: op, SerialLog: r.SerialLog, Findings: r.Findings}
}

// Run boots m, runs opts.Args in the guest and returns its exit status and
// the kernel reports of the serial log. The error is for the lab itself
// (QEMU failed, the guest never reported a status, the timeout passed);
// the result is filled in as far as it got, also then.
func (l *Lab) Run(ctx context.Context, m Machine, opts RunOptions) (*Result, error) {
	if len(opts.Args) == 0 {
		return nil, errors.New("lab run: no command given")
	}
	return l.boot(ctx, m, opts, "lab run", "run", CommandScript(opts.Args))
}

// BootCheck is the command Boot runs: it shows the kernel and whether the
// kcov devices exist, and fails when the dataflow device is missing.
var BootCheck = []string{"sh", "-c", `uname -a; cat /proc/cmdline; ls -l /sys/kernel/debug/kcov*; ` +
	`test -e /sys/kernel/debug/kcov_dataflow || { echo "no /sys/kernel/debug/kcov_dataflow" >&2; exit 1; }`}

// Boot boots m and runs BootCheck.
func (l *Lab) Boot(ctx context.Context, m Machine, opts RunOptions) (*Result, error) {
	opts.Args = BootCheck
	return l.boot(ctx, m, opts, "lab boot", "run", CommandScript(opts.Args))
}

// Shell boots m to an interactive shell with the serial console on the
// process's stdin and stdout (Ctrl-A X ends QEMU).
func (l *Lab) Shell(ctx context.Context, m Machine, opts RunOptions) (*Result, error) {
	return l.boot(ctx, m, opts, "lab shell", "shell", "")
}

// QEMUArgs returns the emulator's arguments for booting m. serial is the
// console log; interactive puts the console on stdio as well.
//
// The machine is microvm without ACPI: an ISA serial port and virtio-mmio
// devices, which QEMU adds to the kernel command line itself
// (virtio_mmio.device=...) when ACPI is off, so the kernel needs neither
// ACPI nor PCI. Without ACPI the guest cannot power off; it reboots, by a
// triple fault (reboot=t: there is no keyboard controller to pulse), and
// -no-reboot turns that into QEMU's exit. A panic (panic=-1) ends the same
// way.
func QEMUArgs(m Machine, mode, ctlDir, hostDir, serial string, interactive bool) []string {
	mem := m.Memory
	if mem == "" {
		mem = "1G"
	}
	cpus := m.CPUs
	if cpus <= 0 {
		cpus = 2
	}
	cmdline := "console=ttyS0 panic=-1 reboot=t nokaslr kcovdf.mode=" + mode
	if m.TSCKHz > 0 {
		cmdline += fmt.Sprintf(" tsc_early_khz=%d tsc=reliable", m.TSCKHz)
	}
	if m.Append != "" {
		cmdline += " " + m.Append
	}
	args := []string{
		"-machine", "microvm,acpi=off",
		"-accel", "tcg", // KVM is not used: TCG behaves the same everywhere
		"-m", mem, "-smp", strconv.Itoa(cpus),
		"-kernel", m.Kernel.BzImage, "-initrd", m.Initramfs.Path,
		"-append", cmdline,
		"-no-reboot", "-nodefaults", "-display", "none",
	}
	if interactive {
		args = append(args,
			"-chardev", "stdio,id=con,mux=on,signal=off,logfile="+qemuEscape(serial),
			"-serial", "chardev:con", "-mon", "chardev=con,mode=readline")
	} else {
		args = append(args, "-chardev", "file,id=con,path="+qemuEscape(serial), "-serial", "chardev:con", "-monitor", "none")
	}
	for _, s := range []struct{ id, path, tag string }{{"ctl", ctlDir, ctlTag}, {"host", hostDir, hostTag}} {
		args = append(args,
			"-fsdev", "local,id="+s.id+",path="+qemuEscape(s.path)+",security_model=none",
			"-device", "virtio-9p-device,fsdev="+s.id+",mount_tag="+s.tag)
	}
	return args
}

// qemuEscape escapes a value inside a comma-separated QEMU option.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

func (l *Lab) boot(ctx context.Context, m Machine, opts RunOptions, op, mode, script string) (*Result, error) {
	if m.Kernel == nil || m.Initramfs == nil {
		return nil, fmt.Errorf("%s: the machine needs a kernel and an initramfs (BuildKernel, BuildInitramfs)", op)
	}
	if _, err := exec.LookPath(QEMUBinary); err != nil {
		return nil, fmt.Errorf("%s: %s not found (install qemu-system-x86)", op, QEMUBinary)
	}
	if m.TSCKHz == 0 {
		m.TSCKHz = HostTSCKHz()
	}
	runs := filepath.Join(l.cache, "runs")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return nil, err
	}
	pruneDirs(runs, 20)
	runDir, err := os.MkdirTemp(runs, time.Now().UTC().Format("20060102-150405-"))
	if err != nil {
		return nil, err
	}
	res := &Result{RunDir: runDir, ExitCode: -1, op: op}
	ctl := filepath.Join(runDir, "ctl")
	if err := os.MkdirAll(ctl, 0o755); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(ctl, "cmd.sh"), []byte(script), 0o644); err != nil {
		return res, err
	}
	host := opts.Dir
	if host == "" {
		host = filepath.Join(runDir, "work")
	}
	if host, err = filepath.Abs(host); err != nil {
		return res, err
	}
	if err := os.MkdirAll(host, 0o755); err != nil {
		return res, fmt.Errorf("%s: shared directory: %v", op, err)
	}
	res.SerialLog = opts.SerialLog
	if res.SerialLog == "" {
		res.SerialLog = filepath.Join(runDir, "serial.log")
	}
	if res.SerialLog, err = filepath.Abs(res.SerialLog); err != nil {
		return res, err
	}
	if err := os.WriteFile(res.SerialLog, nil, 0o644); err != nil {
		return res, fmt.Errorf("%s: serial log: %v", op, err)
	}
	for _, p := range []string{filepath.Join(ctl, "stdout"), filepath.Join(ctl, "stderr")} {
		if err := os.WriteFile(p, nil, 0o666); err != nil {
			return res, err
		}
	}
	interactive := mode == "shell"
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
		if interactive {
			timeout = 100 * 365 * 24 * time.Hour
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	args := QEMUArgs(m, mode, ctl, host, res.SerialLog, interactive)
	qlog := filepath.Join(runDir, "qemu.log")
	cmdLine := QEMUBinary + " " + strings.Join(args, " ")
	os.WriteFile(filepath.Join(runDir, "qemu.cmd"), []byte(cmdLine+"\n"), 0o644)
	qf, err := os.Create(qlog)
	if err != nil {
		return res, err
	}
	defer qf.Close()
	cmd := exec.Command(QEMUBinary, args...)
	if interactive {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	} else {
		cmd.Stdout, cmd.Stderr = qf, qf
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("%s: start %s: %v", op, QEMUBinary, err)
	}
	// Followers copy the guest's output while it runs.
	var ready time.Time
	var readyMu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	follow := func(path string, w io.Writer, onLine func(string)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			followFile(path, w, onLine, stop)
		}()
	}
	follow(res.SerialLog, writerOrDiscard(opts.Serial, interactive), func(line string) {
		if strings.Contains(line, readyMarker) {
			readyMu.Lock()
			if ready.IsZero() {
				ready = time.Now()
			}
			readyMu.Unlock()
		}
	})
	if !interactive {
		follow(filepath.Join(ctl, "stdout"), writerOrDiscard(opts.Stdout, false), nil)
		follow(filepath.Join(ctl, "stderr"), writerOrDiscard(opts.Stderr, false), nil)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	var qerr error
	select {
	case qerr = <-waitErr:
	case <-ctx.Done():
		cmd.Process.Kill()
		<-waitErr
	}
	close(stop)
	wg.Wait()
	res.Duration = time.Since(start)
	readyMu.Lock()
	if !ready.IsZero() {
		res.BootTime = ready.Sub(start)
	}
	readyMu.Unlock()
	res.Findings, _ = ScanLogFile(res.SerialLog)

	if ctx.Err() != nil {
		why := fmt.Sprintf("timed out after %s", timeout)
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "interrupted"
		}
		return res, fmt.Errorf("%s: %s (QEMU stopped); see the serial log %s%s", op, why, res.SerialLog, findingsNote(res.Findings))
	}
	if qerr != nil {
		return res, fmt.Errorf("%s: %s failed: %v; see %s and the serial log %s (last lines: %s)%s",
			op, QEMUBinary, qerr, qlog, res.SerialLog, strings.Join(logTail(qlog, 5), " | "), findingsNote(res.Findings))
	}
	if interactive {
		res.ExitCode = 0
		return res, nil
	}
	status, err := os.ReadFile(filepath.Join(ctl, "status"))
	if err != nil {
		return res, fmt.Errorf("%s: the guest reported no exit status (kernel panic, or /init failed); see the serial log %s (last lines: %s)%s",
			op, res.SerialLog, strings.Join(serialTail(res.SerialLog, 6), " | "), findingsNote(res.Findings))
	}
	res.ExitCode, err = strconv.Atoi(strings.TrimSpace(string(status)))
	if err != nil {
		return res, fmt.Errorf("%s: bad exit status %q in %s", op, status, filepath.Join(ctl, "status"))
	}
	return res, nil
}

func findingsNote(fs []Finding) string {
	if len(fs) == 0 {
		return ""
	}
	return fmt.Sprintf("; kernel reported: %s", fs[0].Title)
}

func serialTail(path string, n int) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(data), "\r", "")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

func writerOrDiscard(w io.Writer, interactive bool) io.Writer {
	if w == nil || interactive {
		return io.Discard
	}
	return w
}

// followFile copies what is appended to path to w until stop is closed,
// then copies the rest. onLine sees each complete line.
func followFile(path string, w io.Writer, onLine func(string), stop <-chan struct{}) {
	var off int64
	var partial []byte
	buf := make([]byte, 64<<10)
	read := func() {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		for {
			n, err := f.ReadAt(buf, off)
			if n > 0 {
				off += int64(n)
				w.Write(buf[:n])
				if onLine != nil {
					partial = append(partial, buf[:n]...)
					for {
						i := bytes.IndexByte(partial, '\n')
						if i < 0 {
							break
						}
						onLine(string(partial[:i]))
						partial = partial[i+1:]
					}
				}
			}
			if err != nil || n == 0 {
				return
			}
		}
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			read()
			return
		case <-t.C:
			read()
		}
	}
}

// pruneDirs keeps the newest keep-1 directories in dir (by name, which
// starts with the time).
func pruneDirs(dir string, keep int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for i := 0; i < len(names)-(keep-1); i++ {
		os.RemoveAll(filepath.Join(dir, names[i]))
	}
}
