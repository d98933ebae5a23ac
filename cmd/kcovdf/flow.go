package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kcovdf/kcovdf/calls"
	"github.com/kcovdf/kcovdf/flow"
	"github.com/kcovdf/kcovdf/redact"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newFlowCommand) }

func newFlowCommand() *cobra.Command {
	var in inputFlags
	var rf redactFlags
	var asJSON, small bool
	var task string
	cmd := &cobra.Command{
		Use:   "flow [flags] TRACE VALUE",
		Short: "Follow a value through a trace: every call that took or returned it",
		Long: `flow lists, in the order the kernel produced them, every call where VALUE
was an argument, a struct field or a return value, each with the path from
the system call (the root-most frame) down to it; frames shared with the
previous match are not repeated, so the list reads as a chain through the
call tree.

VALUE is a number (4096, 0x1000, -100, 0o755) or an errno name (-ENOENT,
ENOENT and ERR_PTR(-ENOENT) mean the same). Besides the value itself
(exact, compared at the width of the field or argument, so -100 is found
in an int as 0xffffff9c), flow finds it in other forms, and says which:

  sext32/16/8    a 4, 2 or 1-byte pattern with its top bit set, sign
                 extended in a wider word (0xffffff9c found as -100)
  trunc32/16/8   a value wider than 4, 2 or 1 bytes cut to its low bytes
  bswap64/32/16  its bytes in the other order (htons, htonl, cpu_to_be64)

Forms too weak to mean anything are skipped unless --small is given: the
values 0, 1 and -1 in any form, truncations to a number within ±255
(which any count, flag or index would match), and byte swaps of a value
within ±255 (the byte-swapped 3 is any 0x300 flag word). The first line
says which forms were looked for, standard error which were skipped.

Flags come before TRACE, so that a negative VALUE is read as a value
("--" before it works too). seq is the sequence number of the call's
first record, as decode shows it.

In a follow-mode trace (record --follow) the value is followed within
each task's calls, and within each program a task ran (a call never
spans an execve): the matches of each come under a line naming the task,
and in JSON each match carries its tid. --task keeps one task.`,
		Example: `  kcovdf flow --symbols vmlinux trace.kdf 3
  kcovdf flow --symbols vmlinux trace.kdf -ENOENT
  kcovdf flow --symbols vmlinux --json trace.kdf 0x8000 | jq .path
  kcovdf flow --symbols vmlinux --task 1234 follow.kdf -ENOENT`,
		Args: func(cmd *cobra.Command, args []string) error {
			args = dropDash(args)
			for _, a := range args[min(1, len(args)):] {
				if strings.HasPrefix(a, "--") {
					return usageError(cmd, fmt.Sprintf("flag %s after TRACE: flags come first, so that a negative VALUE is not taken for one", a))
				}
			}
			return argsExactly("TRACE", "VALUE")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			args = dropDash(args)
			secret, err := rf.secret()
			if err != nil {
				return err
			}
			tok, isToken := redact.ParseToken(args[1])
			var v uint64
			if !isToken {
				if v, err = flow.ParseValue(args[1]); err != nil {
					return err
				}
			}
			nt, err := in.buildTree(args[0], task)
			if err != nil {
				return err
			}
			defer nt.src.trace.Close()
			rt := redactor(secret, nt.src.trace)
			if isToken {
				if rt == nil {
					return fmt.Errorf("%s is a token of --redact: give --redact-key with the key it was made with", args[1])
				}
				var ok bool
				if v, ok = resolveToken(nt.trees(), rt, tok); !ok {
					return fmt.Errorf("%s: no kernel address of %s has this token under the key of --redact-key", args[1], args[0])
				}
			}
			if rt != nil {
				nt.namer.Redact = rt
				defer redactOutput(cmd, rt)()
			}
			m := flow.NewMatcher(v, small)
			var res *flow.Result
			if nt.parts != nil {
				res, err = flowTasks(cmd.OutOrStdout(), nt, m, asJSON)
			} else {
				res = flow.Find(nt.tree, nt.namer, m)
				if asJSON {
					err = flow.WriteJSON(cmd.OutOrStdout(), res)
				} else {
					err = flow.WriteText(cmd.OutOrStdout(), res)
				}
			}
			if err != nil {
				return err
			}
			ew := cmd.ErrOrStderr()
			nt.report(ew, "")
			if len(res.Skipped) > 0 {
				fmt.Fprintf(ew, "note: skipped as too weak (--small looks for them): %s\n", strings.Join(res.Skipped, ", "))
			}
			return nt.src.fileErr
		},
	}
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if strings.Contains(err.Error(), "unknown shorthand flag") {
			return usageError(cmd, err.Error()+" (a negative VALUE comes after TRACE)")
		}
		return err
	})
	in.register(cmd)
	rf.register(cmd)
	registerTask(cmd, &task)
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "one JSON object per match: call, seq, depth, path, func, name, text, raw, width, form (and tid, with exec for a call after an execve, in a follow-mode trace)")
	// Flags end at TRACE: "-100" after it is a value, not a flag.
	f.SetInterspersed(false)
	f.BoolVar(&small, "small", false, "also look for the forms too weak to mean much alone: 0, 1, -1, truncations to small numbers, byte swaps of small values")
	return cmd
}

// dropDash removes the "--" that may stand between TRACE and VALUE; with
// flags ending at TRACE, it is kept as an argument.
func dropDash(args []string) []string {
	if len(args) > 1 && args[1] == "--" {
		return append([]string{args[0]}, args[2:]...)
	}
	return args
}

// flowTasks follows the value within each task's calls of a follow-mode
// trace: under a line naming the task for each task that has matches, or
// in JSON each match with its tid. It returns the matches together.
func flowTasks(w io.Writer, nt *namedTree, m *flow.Matcher, asJSON bool) (*flow.Result, error) {
	all := &flow.Result{Value: m.Value, Forms: m.Forms(), Skipped: m.Skipped, Matches: []flow.Match{}}
	for _, p := range nt.parts {
		res := flow.Find(p.tree, nt.namer, m)
		for i := range res.Matches {
			res.Matches[i].Tid, res.Matches[i].Exec = p.task.Tid, p.seg
		}
		all.Matches = append(all.Matches, res.Matches...)
		all.Calls += res.Calls
		if len(res.Matches) == 0 {
			continue
		}
		var err error
		if asJSON {
			err = flow.WriteJSON(w, res)
		} else {
			if _, err = fmt.Fprintf(w, "== %s\n", p.label()); err == nil {
				err = flow.WriteText(w, res)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(all.Matches) == 0 && !asJSON {
		return all, flow.WriteText(w, all)
	}
	return all, nil
}

// trees is the trace's call trees: one, or a follow-mode trace's parts.
func (nt *namedTree) trees() []*calls.Tree {
	if nt.tree != nil {
		return []*calls.Tree{nt.tree}
	}
	out := make([]*calls.Tree, len(nt.parts))
	for i := range nt.parts {
		out[i] = nt.parts[i].tree
	}
	return out
}

// resolveToken finds the kernel address a token stands for among the
// values of the trees: the first word of each argument and return, and
// the pointer it was read through.
func resolveToken(trees []*calls.Tree, rt *redact.Trace, tok uint64) (uint64, bool) {
	for _, t := range trees {
		if v, ok := resolveTokenIn(t, rt, tok); ok {
			return v, true
		}
	}
	return 0, false
}

func resolveTokenIn(t *calls.Tree, rt *redact.Trace, tok uint64) (uint64, bool) {
	match := func(w uint64) bool { return calls.KernelAddress(w) && rt.Word(w) == tok }
	for i := range t.Calls {
		c := &t.Calls[i]
		if match(c.PC) {
			return c.PC, true
		}
		vals := t.Args(i)
		if c.HasRet {
			vals = append(vals[:len(vals):len(vals)], c.Ret)
		}
		for k := range vals {
			v := &vals[k]
			if match(v.Ptr) {
				return v.Ptr, true
			}
			for _, w := range t.Words(v) {
				if match(w) {
					return w, true
				}
			}
		}
	}
	return 0, false
}
