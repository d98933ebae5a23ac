package calls

import "slices"

// Classic kcov (KCOV_TRACE_PC) and kcov dataflow, enabled on one thread,
// write two separate streams of one execution: kcov a PC per basic block
// run, dataflow a record per instrumented function entered and left. They
// share no clock, so Align lines them up by what both see: the function a
// PC lies in.
//
// A function's entry block runs once per call and has no predecessor, so
// its kcov PC (the lowest PC the function ever shows, as the entry block
// comes first) marks a new call: the next call of that function in the
// tree is entered there, unless more than a few calls that kcov shows
// elsewhere would go unseen before it. A PC of a function that is open in the tree
// belongs to its innermost open call, and closes every call above it. PCs
// of functions dataflow does not trace (other files, helpers) ran inside
// whatever was open around them; when calls were opened or closed in
// between without a PC to show exactly when, the PC is placed in the
// deepest call that was surely open, and marked as not exact.

// Coverage is classic kcov's PCs of one thread placed on the calls of the
// dataflow tree of the same thread and run.
type Coverage struct {
	PCs []uint64
	// Call[i] is the call PCs[i] surely ran inside (itself or in one of
	// its callees); -1 when no call of the tree surely was open.
	Call []int32
	// Exact[i] is set when no call below Call[i] can have run PCs[i]:
	// the placement is not a guess (with Call[i] -1: surely outside every
	// call). When unset, PCs[i] may have run in a
	// callee of Call[i] whose start or end no PC shows.
	Exact []bool
	Stats AlignStats
}

// AlignStats sum up an alignment.
type AlignStats struct {
	PCs     int `json:"pcs"`
	Exact   int `json:"exact"`   // placed exactly
	Guessed int `json:"guessed"` // placed in a call that surely ran them, maybe too high
	Outside int `json:"outside"` // in no call of the tree (before the first, after the last)
	// Entered counts the calls whose entry a kcov PC marks.
	Entered int `json:"calls_entered"`
	// Skipped counts calls of functions kcov shows elsewhere whose entry
	// it did not show here (a lost PC, a call dataflow saw and kcov not).
	Skipped int `json:"calls_skipped"`
	// Mismatched counts PCs of traced functions that fit neither an open
	// call nor a later one: the two streams disagree there.
	Mismatched int `json:"mismatched"`
	// Unknown counts PCs in no known function.
	Unknown int `json:"unknown"`
}

// Align places pcs, classic kcov's coverage of the thread that t was
// recorded on in the same run, on t's calls. kcovFunc gives the start of
// the function a kcov PC lies in, callFunc the start of the function of a
// call's PC, in one address space (kcov's PCs are link-time addresses,
// dataflow's runtime ones).
func Align(t *Tree, pcs []uint64, kcovFunc func(pc uint64) (start uint64, ok bool), callFunc func(pc uint64) uint64) *Coverage {
	cov := &Coverage{PCs: pcs, Call: make([]int32, len(pcs)), Exact: make([]bool, len(pcs))}
	st := &cov.Stats
	st.PCs = len(pcs)
	fn := make([]uint64, len(pcs))
	known := make([]bool, len(pcs))
	entry := map[uint64]uint64{} // function start → its lowest PC
	for i, pc := range pcs {
		f, ok := kcovFunc(pc)
		fn[i], known[i] = f, ok
		if !ok {
			continue
		}
		if e, seen := entry[f]; !seen || pc < e {
			entry[f] = pc
		}
	}
	calls := t.Calls
	callFn := make([]uint64, len(calls))
	byFunc := map[uint64][]int32{}
	for i := range calls {
		f := callFunc(calls[i].PC)
		callFn[i] = f
		byFunc[f] = append(byFunc[f], int32(i))
	}
	within := func(k, j int32) bool { return k < j && j < calls[k].End } // k is an ancestor of j
	var stack []int32
	next := int32(0)  // calls before next were entered or passed over
	var pending []int // PCs waiting for the next event to be placed
	guess := make([]bool, len(pcs))

	// pass moves next to end, counting the calls kcov should have shown.
	pass := func(end int32) {
		for ; next < end; next++ {
			if _, shown := entry[callFn[next]]; shown {
				st.Skipped++
			}
		}
	}
	// settle places the pending PCs in call c (or none), exactly or not.
	settle := func(c int32, exact bool) {
		// A call kcov never shows may have been running them.
		if exact && next < int32(len(calls)) && (c < 0 || within(c, next)) {
			if _, shown := entry[callFn[next]]; !shown {
				exact = false
			}
		}
		for _, i := range pending {
			cov.Call[i] = c
			cov.Exact[i] = exact && !guess[i]
		}
		pending = pending[:0]
	}
	top := func() int32 {
		if len(stack) == 0 {
			return -1
		}
		return stack[len(stack)-1]
	}
	// reachable tells whether call j can be the next one kcov shows: at
	// most maxMissed calls that kcov shows elsewhere come before it
	// unseen. An entry PC whose call lies further on is one dataflow did
	// not record here (its own ENABLE, a lost record): taking it would
	// pass over everything in between.
	reachable := func(j int32) bool {
		missed := 0
		for c := next; c < j; c++ {
			if _, shown := entry[callFn[c]]; shown {
				if missed++; missed > maxMissed {
					return false
				}
			}
		}
		return true
	}
	// enter opens call j: calls not its ancestors close, ancestors that
	// kcov never showed open; then i is j's entry PC.
	enter := func(j int32, i int) {
		keep := len(stack)
		for keep > 0 && !within(stack[keep-1], j) {
			keep--
		}
		popped := keep < len(stack)
		stack = stack[:keep]
		certain := top()
		opened := false
		for ; next < j; next++ {
			if within(next, j) {
				stack = append(stack, next)
				opened = true
			} else if _, shown := entry[callFn[next]]; shown {
				st.Skipped++
			}
		}
		settle(certain, !popped && !opened)
		stack = append(stack, j)
		next = j + 1
		st.Entered++
		cov.Call[i], cov.Exact[i] = j, true
	}
	for i, pc := range pcs {
		if !known[i] {
			st.Unknown++
			pending = append(pending, i)
			continue
		}
		f := fn[i]
		traced := byFunc[f]
		if traced == nil {
			pending = append(pending, i) // ran inside whatever was open
			continue
		}
		if pc == entry[f] {
			k, _ := slices.BinarySearch(traced, next)
			if k < len(traced) && reachable(traced[k]) {
				enter(traced[k], i)
				continue
			}
		} else if p := innermost(stack, callFn, f); p >= 0 {
			popped := p < len(stack)-1
			for _, k := range stack[p+1:] {
				pass(calls[k].End)
			}
			stack = stack[:p+1]
			settle(stack[p], !popped)
			// Recursion: an outer call of f may be the one running.
			cov.Call[i], cov.Exact[i] = stack[p], innermost(stack[:p], callFn, f) < 0
			continue
		}
		st.Mismatched++
		guess[i] = true
		pending = append(pending, i)
	}
	// After the last event only calls that never returned surely stayed
	// open.
	c := int32(-1)
	for p := len(stack) - 1; p >= 0 && c < 0; p-- {
		if calls[stack[p]].Flags&NoReturn != 0 {
			c = stack[p]
		}
	}
	settle(c, c >= 0 && c == top())
	for i := range pcs {
		switch {
		case cov.Call[i] < 0:
			st.Outside++
		case cov.Exact[i]:
			st.Exact++
		default:
			st.Guessed++
		}
	}
	return cov
}

// maxMissed is how many calls kcov shows elsewhere may go unseen before
// a call Align enters.
const maxMissed = 4

// innermost is the position in stack of the innermost call of function f,
// or -1.
func innermost(stack []int32, callFn []uint64, f uint64) int {
	for p := len(stack) - 1; p >= 0; p-- {
		if callFn[stack[p]] == f {
			return p
		}
	}
	return -1
}

// Self returns, per call, the indices of the PCs placed in it (not in its
// callees), in execution order.
func (c *Coverage) Self(calls int) [][]int32 {
	out := make([][]int32, calls)
	for i, k := range c.Call {
		if k >= 0 && int(k) < calls {
			out[k] = append(out[k], int32(i))
		}
	}
	return out
}
