// Command kcovdf records, decodes and analyses kcov dataflow traces: the
// arguments and return values of instrumented Linux kernel functions.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kcovdf/kcovdf/device"

	"github.com/spf13/cobra"
)

// subcommands holds the constructors of every subcommand; each lives in its
// own file and adds itself from init, so files never edit one another.
var subcommands []func() *cobra.Command

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "kcovdf",
		Short: "Which values flowed through the kernel: record, decode and analyse kcov dataflow traces",
		Long: `kcovdf captures the arguments and return values of instrumented Linux kernel
functions through /sys/kernel/debug/kcov_dataflow, decodes the buffers exactly,
and builds a lab that boots a real instrumented kernel under QEMU.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, sub := range subcommands {
		root.AddCommand(sub())
	}
	return root
}

// exitCodeError makes kcovdf exit with the status of a command it ran
// (record, lab run, lab trace), as a shell would.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("command exited with status %d", e.code) }

func main() {
	// In the child of "kcovdf record": enable tracing and exec the command.
	device.ExecTracedChild()
	cmd, err := newRootCommand().ExecuteC()
	os.Exit(exitStatus(os.Stderr, cmd, err))
}

// exitStatus reports err of cmd on w as kcovdf does, and returns the
// status to exit with.
func exitStatus(w io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return 0
	}
	var code exitCodeError
	if errors.As(err, &code) {
		return code.code
	}
	fmt.Fprintln(w, "kcovdf:", hint(cmd, err))
	return 1
}
