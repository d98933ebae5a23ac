package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/kcovdf/kcovdf/device"
	"github.com/spf13/cobra"
)

// Defaults every command shares, so that one flag means one thing.
const (
	// defaultWords is the trace buffer of record, latency, sim and lab
	// trace: 32 MiB, room for a command's whole run in the lab kernel.
	defaultWords = 1 << 22
	wordsUsage   = "trace buffer size in words (whole pages, at most 16777216)"
	deviceUsage  = "the kcov dataflow device"
	// defaultCalls and defaultRounds are latency's, and lab bench runs
	// latency with its own: enough calls per round that one timer tick
	// does not decide a median, enough rounds that a round disturbed by
	// another job does not.
	defaultCalls  = 200
	defaultRounds = 15
	callsUsage    = "calls per round"
	roundsUsage   = "rounds of each syscall and mode (the median is kept)"
	symbolsUsage  = "the traced kernel's vmlinux (names, types, and layouts from its debug info), System.map or /proc/kallsyms (names only)"
)

// Argument validators: every command reports a wrong argument count the
// same way, with its usage line.

// argsExactly wants one argument for each name (none for no names).
func argsExactly(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usageError(cmd, "missing "+strings.Join(names[len(args):], " "))
		case len(args) > len(names):
			return usageError(cmd, fmt.Sprintf("unexpected argument %q", args[len(names)]))
		}
		return nil
	}
}

// argsCommand wants a command to run: -- CMD [ARGS...].
func argsCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usageError(cmd, "no command given")
	}
	return nil
}

func usageError(cmd *cobra.Command, msg string) error {
	name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	return fmt.Errorf("%s: %s; usage: %s", name, msg, cmd.UseLine())
}

// argsSubcommand is for commands that only group others: an argument
// that names none of them is an error, not a reason to print help.
func argsSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError(cmd, fmt.Sprintf("unknown command %q", args[0]))
	}
	return nil
}

// hint adds what to do next to errors the libraries report as plain
// facts; cmd is the command that failed.
func hint(cmd *cobra.Command, err error) error {
	switch {
	case errors.Is(err, device.ErrNoDevice), errors.Is(err, syscall.ENOENT) && strings.Contains(err.Error(), "kcov_dataflow"):
		return fmt.Errorf(`%w; for a kernel that has it, try "kcovdf lab run -- %s"`, err, cmd.CommandPath())
	case errors.Is(err, device.ErrPermission):
		return fmt.Errorf("%w; run as root", err)
	case errors.Is(err, device.ErrBufferFull):
		return fmt.Errorf("%w; use fewer --calls or more --words", err)
	case errors.Is(err, device.ErrNoMemory):
		return fmt.Errorf("%w; ask for fewer --words", err)
	}
	return err
}

// argsAtLeastOne wants one or more arguments of the given name.
func argsAtLeastOne(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError(cmd, "missing "+name)
		}
		return nil
	}
}
