package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kcovdf/kcovdf/internal/lab"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newLabCommand) }

// labFlags are the flags of one lab subcommand. Each subcommand has its own
// set: a flag variable bound in several commands would take the default of
// the last one defined (the timeouts differ).
type labFlags struct {
	kasan      bool
	instrument string
	jobs       int
	cache      string
	repo       string
	config     []string
	maxFields  int
	// machine
	memory  string
	cpus    int
	timeout time.Duration
	dir     string
	serial  string
	files   []string
	verbose bool
}

func newLabCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Build an instrumented Linux 6.12 kernel and run commands in it under QEMU",
		Long: `lab builds the dataflow plugin and a Linux 6.12 kernel with kcov dataflow
(cached by content under $KCOVDF_CACHE, $XDG_CACHE_HOME/kcovdf or ~/.cache/kcovdf),
packs a busybox initramfs with kcovdf and the kernel selftest, and boots it
under QEMU (TCG). The guest's working directory is a host directory shared
over 9p, so files the command writes come back to the host.`,
		Args: argsSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newLabBuildCommand(), newLabRunCommand(), newLabBootCommand(), newLabShellCommand(),
		newLabTraceCommand(), newLabBenchCommand(), newLabFeedbackCommand())
	return cmd
}

// addKernelFlags adds the flags that choose and build the kernel; every lab
// subcommand has them (as its own flags, not inherited ones, so that help
// does not list them as global).
func (f *labFlags) addKernelFlags(c *cobra.Command) {
	fs := c.Flags()
	fs.BoolVar(&f.kasan, "kasan", false, "build/boot the KASAN + lockdep kernel")
	fs.StringVar(&f.instrument, "instrument", "default", `objects to instrument: default ("`+lab.DefaultSelect+`"), all, none, or a space-separated list of object path prefixes`)
	fs.IntVar(&f.jobs, "jobs", 0, "parallel make jobs (0: number of CPUs)")
	fs.StringVar(&f.cache, "cache", "", "cache directory (default $KCOVDF_CACHE, $XDG_CACHE_HOME/kcovdf or ~/.cache/kcovdf)")
	fs.StringVar(&f.repo, "repo", "", "kcovdf source tree (default: found from the working directory)")
	fs.IntVar(&f.maxFields, "max-fields", 0, "cap the fields the plugin expands per structure (0: all); a kernel of its own")
	fs.StringArrayVar(&f.config, "config", nil, "extra kernel option NAME=VALUE (without CONFIG_; VALUE y, n, m or a literal), on top of the lab's; repeatable")
}

func (f *labFlags) lab() (*lab.Lab, error) {
	return lab.New(lab.Config{RepoDir: f.repo, CacheDir: f.cache, Jobs: f.jobs, Progress: os.Stderr})
}

func (f *labFlags) kernelOptions() (lab.KernelOptions, error) {
	o := lab.KernelOptions{KASAN: f.kasan, Instrument: f.instrument, MaxFields: f.maxFields}
	if f.maxFields < 0 {
		return o, fmt.Errorf("lab: --max-fields %d: want 0 (no cap) or more", f.maxFields)
	}
	for _, c := range f.config {
		opt, err := lab.ParseOption(c)
		if err != nil {
			return o, fmt.Errorf("lab: --config: %w", err)
		}
		o.Extra = append(o.Extra, opt)
	}
	return o, nil
}

// signalContext is cancelled by SIGINT/SIGTERM so that builds and QEMU stop
// cleanly.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

func newLabBuildCommand() *cobra.Command {
	f := &labFlags{}
	c := &cobra.Command{
		Use:   "build",
		Short: "Build (or find in the cache) the kernel and the initramfs",
		Args:  argsExactly(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			l, err := f.lab()
			if err != nil {
				return err
			}
			ko, err := f.kernelOptions()
			if err != nil {
				return err
			}
			k, err := l.BuildKernel(ctx, ko)
			if err != nil {
				return err
			}
			ir, err := l.BuildInitramfs(ctx, lab.InitramfsOptions{Selftest: true})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kernel    %s\nkey       %s\nbzImage   %s\nvmlinux   %s\nlayout    %s\ninitramfs %s\n",
				k.Dir, k.Key, k.BzImage, k.Vmlinux, k.Layout, ir.Path)
			return nil
		},
	}
	f.addKernelFlags(c)
	return c
}

// addMachineFlags adds the kernel flags and those of the machine that boots
// it; timeout is the command's own default.
func (f *labFlags) addMachineFlags(c *cobra.Command, timeout time.Duration) {
	f.addKernelFlags(c)
	c.Flags().StringVar(&f.memory, "mem", "1G", "guest memory")
	c.Flags().IntVar(&f.cpus, "cpus", 2, "guest CPUs")
	usage := "give up and stop QEMU after this long"
	if timeout == 0 {
		usage += " (0: no limit)"
	}
	c.Flags().DurationVar(&f.timeout, "timeout", timeout, usage)
	c.Flags().StringVar(&f.serial, "serial-log", "", "write the serial console log here (default: a file under the cache's runs/)")
	c.Flags().StringArrayVar(&f.files, "file", nil, "add HOST[:GUEST] to the initramfs (GUEST default /usr/local/bin/BASENAME); repeatable")
	c.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "also copy the serial console to stderr")
}

// workDir is the host directory shared with the guest as its working
// directory: --dir, else the current directory.
func (f *labFlags) workDir() (string, error) {
	if f.dir != "" {
		return f.dir, nil
	}
	return os.Getwd()
}

// addDirFlag adds --dir. It is not -o/--output: that always names a file
// the command writes.
func (f *labFlags) addDirFlag(c *cobra.Command, usage string) {
	c.Flags().StringVar(&f.dir, "dir", "", usage)
}

// machine builds (or finds) the kernel and initramfs for run/boot/shell.
func (f *labFlags) machine(ctx context.Context) (*lab.Lab, lab.Machine, error) {
	l, err := f.lab()
	if err != nil {
		return nil, lab.Machine{}, err
	}
	ko, err := f.kernelOptions()
	if err != nil {
		return nil, lab.Machine{}, err
	}
	k, err := l.BuildKernel(ctx, ko)
	if err != nil {
		return nil, lab.Machine{}, err
	}
	opts := lab.InitramfsOptions{Selftest: true}
	for _, spec := range f.files {
		host, guest, ok := strings.Cut(spec, ":")
		if !ok || guest == "" {
			guest = "/usr/local/bin/" + filepath.Base(host)
		}
		opts.Files = append(opts.Files, lab.File{Host: host, Guest: guest})
	}
	ir, err := l.BuildInitramfs(ctx, opts)
	if err != nil {
		return nil, lab.Machine{}, err
	}
	return l, lab.Machine{Kernel: k, Initramfs: ir, Memory: f.memory, CPUs: f.cpus}, nil
}

func newLabRunCommand() *cobra.Command {
	f := &labFlags{}
	c := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Boot the lab kernel, run CMD in the guest and exit with its status",
		Long: `run boots the lab kernel and runs CMD in the guest, in a working directory
that is the host directory --dir (default: the current directory) shared over
9p: files CMD writes there appear on the host. CMD's stdout and stderr are
copied to ours, and run exits with CMD's status. Kernel reports on the serial
console (BUG:, KASAN, WARNING:, lockdep, panics) make run fail.`,
		Args: argsCommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			l, m, err := f.machine(ctx)
			if err != nil {
				return err
			}
			out, err := f.workDir()
			if err != nil {
				return err
			}
			opts := lab.RunOptions{Args: args, Dir: out, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
				Timeout: f.timeout, SerialLog: f.serial}
			if f.verbose {
				opts.Serial = os.Stderr
			}
			res, err := l.Run(ctx, m, opts)
			if err != nil {
				return err
			}
			return guestDone(res, "")
		},
	}
	f.addMachineFlags(c, 10*time.Minute)
	f.addDirFlag(c, "host directory shared as the guest's working directory (default: current directory)")
	return c
}

func newLabBootCommand() *cobra.Command {
	f := &labFlags{}
	c := &cobra.Command{
		Use:   "boot",
		Short: "Boot the lab kernel, run the init's self-check and stop",
		Args:  argsExactly(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			l, m, err := f.machine(ctx)
			if err != nil {
				return err
			}
			res, err := l.Boot(ctx, m, lab.RunOptions{Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
				Timeout: f.timeout, SerialLog: f.serial, Serial: os.Stderr})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "lab: booted to the command in %.1fs, whole run %.1fs; serial log %s\n",
				res.BootTime.Seconds(), res.Duration.Seconds(), res.SerialLog)
			return guestDone(res, "")
		},
	}
	f.addMachineFlags(c, 5*time.Minute)
	return c
}

func newLabShellCommand() *cobra.Command {
	f := &labFlags{}
	c := &cobra.Command{
		Use:   "shell",
		Short: "Boot the lab kernel to an interactive shell on the serial console (exit the shell to stop the machine)",
		Args:  argsExactly(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			l, m, err := f.machine(ctx)
			if err != nil {
				return err
			}
			out, err := f.workDir()
			if err != nil {
				return err
			}
			res, err := l.Shell(ctx, m, lab.RunOptions{Dir: out, SerialLog: f.serial, Timeout: f.timeout})
			if err != nil {
				return err
			}
			return res.Check()
		},
	}
	f.addMachineFlags(c, 0)
	f.addDirFlag(c, "host directory shared at /host (default: current directory)")
	return c
}

// guestDone is the outcome of a finished guest run: the kernel's findings
// (a KASAN report, a warning) first, then the command's exit status. The
// status of the user's command (ours == "") becomes kcovdf's own, as a
// shell would pass it on; a command kcovdf ran for itself (ours names it)
// that failed is an error.
func guestDone(res *lab.Result, ours string) error {
	if err := res.Check(); err != nil {
		return err
	}
	switch {
	case res.ExitCode == 0:
		return nil
	case ours != "":
		return fmt.Errorf("%s exited with status %d", ours, res.ExitCode)
	}
	return exitCodeError{res.ExitCode}
}
