package main

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
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
	var skip, task string
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

Two follow-mode traces (record --follow) are compared task by task: a
task of A with the task of B at the same place in the process tree —
the same first name (its comm when it first recorded: a forked child's
is its parent's until it execs) under a parent at the same place, the
first such child of its parent (in tid order) with the first, the second
with the second — and within a task program by program (before its
first execve, after it, ...), since a call never spans an execve; a
task or program one side lacks is
compared with nothing, all its calls only on that side. A follow-mode
trace against a single-task one compares the single task with the
follow trace's root task (--task picks another), all its records as
one stream; the other tasks are left out, and a note says so.

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
			res, trees, notes, err := runDiff(&in, args[0], args[1], task, opt, secret)
			if err != nil {
				return troubleStatus(cmd, err)
			}
			defer trees[0].src.trace.Close()
			defer trees[1].src.trace.Close()
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
			for _, n := range notes {
				fmt.Fprintln(ew, "note:", n)
			}
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
	registerTask(cmd, &task)
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "one JSON object: counts, first divergence and differences per task")
	f.BoolVar(&addresses, "addresses", false, "compare pointers and kernel addresses exactly")
	f.IntVar(&top, "top", 20, "show this many differing calls and places where the calls differ (0: all)")
	f.StringVar(&skip, "skip", "", "leave out the calls of functions matching this regular expression, with their callees, on both sides (e.g. page faults: '^(handle_mm_fault|lock_vma_under_rcu)$')")
	return cmd
}

// runDiff reads both traces and compares them task by task (see
// diffTasks). With a secret, both are redacted with A's key, so that an
// address the two share shows as one token.
func runDiff(in *inputFlags, pathA, pathB, task string, opt tracediff.Options, secret *redact.Secret) (*tracediff.Result, [2]*namedTree, []string, error) {
	var trees [2]*namedTree
	var rt *redact.Trace
	oneTask := 0
	if opt.Top < 0 {
		return nil, trees, nil, fmt.Errorf("--top %d: want 0 (all) or more", opt.Top)
	}
	for k, p := range []string{pathA, pathB} {
		nt, err := in.buildTree(p, task)
		var one *oneTaskError
		if errors.As(err, &one) {
			// --task picks the task of the other, follow-mode, trace
			// that this one's single task is compared with.
			nt, err = in.buildTree(p, "")
			oneTask++
		}
		if err != nil {
			if trees[0] != nil {
				trees[0].src.trace.Close()
			}
			return nil, trees, nil, err
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
	}
	if oneTask == 2 {
		trees[0].src.trace.Close()
		trees[1].src.trace.Close()
		return nil, trees, nil, fmt.Errorf("--task %s: %s and %s hold one task each, not follow-mode captures (record them with --follow)", task, pathA, pathB)
	}
	if err := oneTaskPick(trees, task); err != nil {
		trees[0].src.trace.Close()
		trees[1].src.trace.Close()
		return nil, trees, nil, err
	}
	a, b, notes := diffTasks(trees[0], trees[1])
	return tracediff.Compare(a, b, opt), trees, notes, nil
}

// diffTasks pairs the tasks of two traces for Compare.
//
//   - Two single-task traces: their one task each.
//   - Two follow-mode traces: task by task, a task of A with the task of
//     B at the same place in the process tree (see taskKeys), and within
//     a task program by program (the calls before its first execve, then
//     after it, and so on); a task or program one side lacks is compared
//     with nothing, all its calls only on that side.
//   - A follow-mode trace and a single-task one: the single task with the
//     follow trace's root task (or the task --task names), all of that
//     task's records as one stream, as a single-task capture of it holds
//     them; the other tasks are left out, and a note says so.
// oneTaskPick refuses a --task that names several tasks of a follow-mode
// trace compared with a single-task one: one stream is compared with one.
func oneTaskPick(trees [2]*namedTree, task string) error {
	if task == "" || (trees[0].parts == nil) == (trees[1].parts == nil) {
		return nil
	}
	fl := trees[0]
	if fl.parts == nil {
		fl = trees[1]
	}
	if len(fl.follow.tasks) > 1 {
		tids := make([]string, len(fl.follow.tasks))
		for i, t := range fl.follow.tasks {
			tids[i] = fmt.Sprint(t.Tid)
		}
		return fmt.Errorf("--task %s names %d tasks of %s (%s), and a single-task trace is compared with one: give a tid", task, len(tids), fl.path, strings.Join(tids, ", "))
	}
	return nil
}

func diffTasks(a, b *namedTree) (ta, tb []tracediff.Task, notes []string) {
	label := func(nt *namedTree) string {
		l := nt.path
		if cmd := nt.src.trace.Meta.Command; len(cmd) > 0 {
			l += " (" + strings.Join(cmd, " ") + ")"
		}
		return l
	}
	one := func(nt *namedTree) []tracediff.Task {
		return []tracediff.Task{{Label: label(nt), Tree: nt.tree, Namer: nt.namer}}
	}
	switch {
	case a.parts == nil && b.parts == nil:
		return one(a), one(b), nil
	case a.parts != nil && b.parts != nil:
		keysA, keysB := taskKeys(a.follow.tasks), taskKeys(b.follow.tasks)
		byKey := map[string]int{}
		for i, p := range b.parts {
			byKey[partKey(keysB, &p.taskPart)] = i
		}
		paired := make([]bool, len(b.parts))
		task := func(nt *namedTree, p *partTree) tracediff.Task {
			return tracediff.Task{Label: nt.path + " " + p.label(), Tree: p.tree, Namer: nt.namer}
		}
		absent := func(nt *namedTree, key string) tracediff.Task {
			return tracediff.Task{Label: nt.path + ": no task at " + key, Namer: nt.namer}
		}
		for i := range a.parts {
			p := &a.parts[i]
			key := partKey(keysA, &p.taskPart)
			ta = append(ta, task(a, p))
			if j, ok := byKey[key]; ok && !paired[j] {
				paired[j] = true
				tb = append(tb, task(b, &b.parts[j]))
			} else {
				tb = append(tb, absent(b, key))
			}
		}
		for j := range b.parts {
			if !paired[j] {
				ta = append(ta, absent(a, partKey(keysB, &b.parts[j].taskPart)))
				tb = append(tb, task(b, &b.parts[j]))
			}
		}
		return ta, tb, nil
	}
	single, fl := a, b
	if a.parts != nil {
		single, fl = b, a
	}
	// The root, or the one task --task names (runDiff refuses more).
	t := fl.follow.tasks[0]
	for _, c := range fl.follow.tasks {
		if c.Root {
			t = c
			break
		}
	}
	tree := calls.BuildRecords(fl.src.trace.Words, t.Records, fl.follow.summary(t), calls.Options{Full: t.Dropped > 0, Markers: fl.follow.scan().markers})
	ft := tracediff.Task{Label: fmt.Sprintf("%s task %d (%s)", label(fl), t.Tid, taskNames(t)), Tree: tree, Namer: fl.namer}
	notes = append(notes, fmt.Sprintf("%s holds one task and %s is a follow-mode trace of %d: compared with its task %d (%s), all of its records as one stream; the other tasks are left out (--task picks another)", single.path, fl.path, len(fl.follow.ft.Tasks), t.Tid, taskNames(t)))
	if single == a {
		return one(a), []tracediff.Task{ft}, notes
	}
	return []tracediff.Task{ft}, one(b), notes
}

// taskKeys names each task by its place in the process tree, the same in
// two runs of one program whatever tids they got: the first names of the
// tasks from the top down to it (the name a task had when it first
// recorded: a forked child's is its parent's until it execs), each with
// its rank among the children of its parent that had that name (in tid
// order, the order they were created in), e.g. "sh#0/sh#1/cc1#0". What a
// task exec'd is left out, so that a stream cut before its exec pairs
// with a whole one; its programs are paired in order (partKey). A task
// whose parent has no stream is at the top.
func taskKeys(tasks []*abi.TaskStream) map[*abi.TaskStream]string {
	byTid := map[int]*abi.TaskStream{}
	for _, t := range tasks {
		if _, dup := byTid[t.Tid]; !dup {
			byTid[t.Tid] = t
		}
	}
	parent := func(t *abi.TaskStream) *abi.TaskStream {
		if p := byTid[t.Ptid]; p != nil && p != t && t.Ptid != t.Tid {
			return p
		}
		return nil
	}
	kids := map[*abi.TaskStream][]*abi.TaskStream{}
	for _, t := range tasks {
		kids[parent(t)] = append(kids[parent(t)], t)
	}
	rank := map[*abi.TaskStream]int{}
	for _, ks := range kids {
		sorted := slices.Clone(ks)
		slices.SortStableFunc(sorted, func(x, y *abi.TaskStream) int { return cmp.Compare(x.Tid, y.Tid) })
		n := map[string]int{}
		for _, k := range sorted {
			name := firstName(k)
			rank[k] = n[name]
			n[name]++
		}
	}
	keys := map[*abi.TaskStream]string{}
	var key func(t *abi.TaskStream, depth int) string
	key = func(t *abi.TaskStream, depth int) string {
		if k, ok := keys[t]; ok {
			return k
		}
		k := fmt.Sprintf("%s#%d", firstName(t), rank[t])
		// depth bounds a loop of parents in a damaged buffer.
		if p := parent(t); p != nil && depth < len(tasks) {
			k = key(p, depth+1) + "/" + k
		}
		keys[t] = k
		return k
	}
	for _, t := range tasks {
		key(t, 0)
	}
	return keys
}

// firstName is the name a task had when it first recorded.
func firstName(t *abi.TaskStream) string {
	if len(t.Chunks) == 0 {
		return t.Comm
	}
	return t.Chunks[0].Comm
}

// partKey is a part's place: its task's key and its program.
func partKey(keys map[*abi.TaskStream]string, p *taskPart) string {
	if p.seg == 0 {
		return keys[p.task]
	}
	return fmt.Sprintf("%s, after execve %d", keys[p.task], p.seg)
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
