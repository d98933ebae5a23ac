package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kcovdf/kcovdf/redact"
	"github.com/kcovdf/kcovdf/tracediff"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newDiffCommand) }

func newDiffCommand() *cobra.Command {
	var in inputFlags
	var rf redactFlags
	var asJSON, addresses bool
	var top int
	var skip string
	cmd := &cobra.Command{
		Use:   "diff [flags] A B",
		Short: "Compare two traces' calls: the first divergence, then the calls whose values differ",
		Long: `diff aligns the call trees of traces A and B, task by task and call path by
call path (function names from the root; sibling calls matched as a
longest common subsequence of their names, so that one inserted or
missing call does not shift everything after it). It shows the first
place where the sequences of calls differ, with the calls each side made
there, then the aligned calls whose arguments or returns differ, most
telling first: an errno on one side only (or another errno), other
returns, then arguments; within each, nearer the system call first, then
more values differing.

Addresses change from run to run: unless --addresses is given, two
pointers are equal when both are NULL, the same ERR_PTR, or both valid,
and two kernel addresses are equal wherever they point. Page faults come
and go with the state of memory rather than with what the program did:
--skip leaves out the calls of the functions it matches, callees included.

Both traces are read with the same --symbols and --layout. As diff(1)
does, the exit status is 0 when the traces are equal, 1 when they differ
and 2 on trouble.`,
		Example: `  kcovdf diff --symbols vmlinux ok.kdf fail.kdf
  kcovdf diff --symbols vmlinux --skip '^(handle_mm_fault|lock_vma_under_rcu|lock_mm_and_find_vma)$' ok.kdf fail.kdf
  kcovdf diff --symbols vmlinux --top 0 --json ok.kdf fail.kdf | jq '.tasks[0].differences[0]'`,
		Args: func(cmd *cobra.Command, args []string) error {
			return troubleStatus(cmd, argsExactly("A", "B")(cmd, args))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opt := tracediff.Options{Addresses: addresses, Top: top}
			if skip != "" {
				re, err := regexp.Compile(skip)
				if err != nil {
					return troubleStatus(cmd, fmt.Errorf("--skip: %v", err))
				}
				opt.Skip = re.MatchString
			}
			secret, err := rf.secret()
			if err != nil {
				return troubleStatus(cmd, err)
			}
			res, trees, err := runDiff(&in, args[0], args[1], opt, secret)
			if err != nil {
				return troubleStatus(cmd, err)
			}
			if secret != nil {
				defer redactOutput(cmd, trees[0].namer.Redact.(*redact.Trace))()
			}
			if asJSON {
				err = tracediff.WriteJSON(cmd.OutOrStdout(), res)
			} else {
				err = tracediff.WriteText(cmd.OutOrStdout(), res)
			}
			if err != nil {
				return troubleStatus(cmd, err)
			}
			ew := cmd.ErrOrStderr()
			trees[0].report(ew, "A: ")
			trees[1].report(ew, "B: ")
			for _, nt := range trees {
				if nt.src.fileErr != nil {
					// A damaged file was compared as far as it goes: trouble.
					return troubleStatus(cmd, nt.src.fileErr)
				}
			}
			if !res.Equal {
				return exitCodeError{1}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return troubleStatus(cmd, err) })
	in.register(cmd)
	rf.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "one JSON object: counts, first divergence and differences per task")
	f.BoolVar(&addresses, "addresses", false, "compare pointers and kernel addresses exactly")
	f.IntVar(&top, "top", 20, "show this many differing calls and places where the calls differ (0: all)")
	f.StringVar(&skip, "skip", "", "leave out the calls of functions matching this regular expression, with their callees, on both sides (e.g. page faults: '^(handle_mm_fault|lock_vma_under_rcu)$')")
	return cmd
}

// runDiff reads both traces and compares them; each trace is one task.
// With a secret, both are redacted with A's key, so that an address the
// two share shows as one token.
func runDiff(in *inputFlags, pathA, pathB string, opt tracediff.Options, secret *redact.Secret) (*tracediff.Result, [2]*namedTree, error) {
	var trees [2]*namedTree
	var tasks [2][]tracediff.Task
	var rt *redact.Trace
	if opt.Top < 0 {
		return nil, trees, fmt.Errorf("--top %d: want 0 (all) or more", opt.Top)
	}
	for k, p := range []string{pathA, pathB} {
		nt, err := in.buildTree(p)
		if err != nil {
			return nil, trees, err
		}
		trees[k] = nt
		if secret != nil {
			if rt == nil {
				rt = redactor(secret, nt.src.trace)
			} else if !nt.src.trace.Raw {
				rt.Meta(&nt.src.trace.Meta) // B's offset is blanked out too
			}
			nt.namer.Redact = rt
		}
		label := p
		if cmd := nt.src.trace.Meta.Command; len(cmd) > 0 {
			label += " (" + strings.Join(cmd, " ") + ")"
		}
		tasks[k] = []tracediff.Task{{Label: label, Tree: nt.tree, Namer: nt.namer}}
	}
	return tracediff.Compare(tasks[0], tasks[1], opt), trees, nil
}

// troubleStatus reports err as main would and makes kcovdf exit with 2,
// which diff(1) keeps for trouble (1 means the inputs differ).
func troubleStatus(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "kcovdf:", hint(cmd, err))
	return exitCodeError{2}
}
