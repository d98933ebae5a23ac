package export

import (
	"slices"

	"github.com/kcovdf/kcovdf/calls"
)

// Flow is a value returned by one call and passed as an argument to a
// later call of the same task.
type Flow struct {
	From, To int32 // calls: the one that returned Value, the one it was passed to
	Arg      int   // the argument of To, in Names.Args order
	Value    uint64
}

// Flows finds the task's value flows: each argument of each call is linked
// to the call that last returned its value before the call began, so a
// value returned once and passed on many times gives one flow per use.
// Values too common to mean a flow (0, 1, -1, false and true) and errnos
// are left out; a struct passed by pointer is matched by its address.
// Flows come in the order of their To call.
func (t *Task) Flows() []Flow {
	var flows []Flow
	lastRet := map[uint64]int32{}
	var open []int32
	for j := range t.Tree.Calls {
		// Calls that returned before call j began, innermost first.
		for len(open) > 0 && int(t.Tree.Calls[open[len(open)-1]].End) <= j {
			i := open[len(open)-1]
			open = open[:len(open)-1]
			if r, ok := t.Names.Ret(t.Tree, int(i)); ok && r.Errno == 0 && flowValue(&r) {
				lastRet[r.Raw] = i
			}
		}
		if len(lastRet) > 0 && t.mayReceive(j, lastRet) {
			first := len(flows)
			for k, a := range t.Names.Args(t.Tree, j) {
				if !flowValue(&a) {
					continue
				}
				i, ok := lastRet[a.Raw]
				// One flow per pair of calls, for the first argument
				// that carries a value of From's.
				if ok && !slices.ContainsFunc(flows[first:], func(f Flow) bool { return f.From == i }) {
					flows = append(flows, Flow{From: i, To: int32(j), Arg: k, Value: a.Raw})
				}
			}
		}
		open = append(open, int32(j))
	}
	return flows
}

// flowValue tells whether a value is rare enough to link two calls.
func flowValue(r *calls.Rendered) bool {
	switch r.Raw {
	case 0, 1, ^uint64(0):
		return false
	}
	return r.Text != "true" && r.Text != "false" && r.Errno == 0
}

// mayReceive tells whether call j may have been passed a value in
// lastRet, from its captured words alone: a rendered value is its first
// word or its captured pointer, so only calls with such a word need
// rendering.
func (t *Task) mayReceive(j int, lastRet map[uint64]int32) bool {
	for _, v := range t.Tree.Args(j) {
		if v.Marker() {
			continue
		}
		if t.held(lastRet, v.Ptr) {
			return true
		}
		if w := t.Tree.Words(&v); len(w) > 0 {
			if t.held(lastRet, w[0]) {
				return true
			}
		}
	}
	return false
}

// held tells whether lastRet has word w, as it is or as its token: where
// the names redact, rendered values hold tokens in place of kernel
// addresses (not of small negative integers, though their words look
// alike).
func (t *Task) held(lastRet map[uint64]int32, w uint64) bool {
	_, ok := lastRet[w]
	if !ok {
		_, ok = lastRet[t.Names.Word(w)]
	}
	return ok
}
