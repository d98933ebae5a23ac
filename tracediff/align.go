package tracediff

// pair is one element of an alignment: indexes into the two sequences,
// -1 on the side that lacks it.
type pair struct{ a, b int32 }

// align matches two sequences of function ids: a longest common
// subsequence found with Myers' O((N+M)D) algorithm, after the common
// prefix and suffix are taken off. Past maxD edits it stops and matches
// the rest greedily (exact false), so that two unrelated long lists cost
// linear time, not quadratic. The pairs come in order; unmatched
// elements are pairs with -1 on the other side, deletions before
// insertions at one place.
func align(a, b []int32, maxD int) (out []pair, exact bool) {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		out = append(out, pair{int32(p), int32(p)})
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	ma, mb := a[p:len(a)-s], b[p:len(b)-s]
	mid, exact := middle(ma, mb, maxD)
	for _, q := range mid {
		if q.a >= 0 {
			q.a += int32(p)
		}
		if q.b >= 0 {
			q.b += int32(p)
		}
		out = append(out, q)
	}
	for k := s; k > 0; k-- {
		out = append(out, pair{int32(len(a) - k), int32(len(b) - k)})
	}
	return out, exact
}

// middle aligns what is left once the common prefix and suffix are off.
func middle(a, b []int32, maxD int) ([]pair, bool) {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return edits(nil, n, m), true
	}
	max := n + m
	if maxD > 0 && max > maxD {
		max = maxD
	}
	off := max + 1
	v := make([]int, 2*max+3)
	var trace [][]int
	for d := 0; d <= max; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return edits(backtrack(trace, d, n, m), n, m), true
			}
		}
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
	}
	return edits(greedy(a, b), n, m), false
}

// backtrack walks the saved frontiers back from (n, m) and returns the
// matched pairs in order.
func backtrack(trace [][]int, d, n, m int) []pair {
	var rev []pair
	x, y := n, m
	for ; d > 0; d-- {
		prev := trace[d-1] // covers k in [-d, d], at k+d
		get := func(k int) int { return prev[k+d] }
		k := x - y
		var pk int
		if k == -d || (k != d && get(k-1) < get(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := get(pk)
		py := px - pk
		sx := px
		if pk == k-1 {
			sx = px + 1
		}
		for x > sx {
			x--
			y--
			rev = append(rev, pair{int32(x), int32(y)})
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, pair{int32(x), int32(y)})
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// greedyWindow is how far greedy looks ahead for the next equal id.
const greedyWindow = 64

// greedy matches equal ids in order, looking a little ahead on either
// side when they differ.
func greedy(a, b []int32) []pair {
	var out []pair
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] == b[j] {
			out = append(out, pair{int32(i), int32(j)})
			i++
			j++
			continue
		}
		da, db := -1, -1
		for k := 1; k < greedyWindow && i+k < len(a); k++ {
			if a[i+k] == b[j] {
				da = k
				break
			}
		}
		for k := 1; k < greedyWindow && j+k < len(b); k++ {
			if b[j+k] == a[i] {
				db = k
				break
			}
		}
		switch {
		case da >= 0 && (db < 0 || da <= db):
			i += da
		case db >= 0:
			j += db
		default:
			i++
			j++
		}
	}
	return out
}

// edits fills in the unmatched elements between matched pairs.
func edits(matched []pair, n, m int) []pair {
	out := make([]pair, 0, n+m-len(matched))
	i, j := 0, 0
	flush := func(ti, tj int) {
		for ; i < ti; i++ {
			out = append(out, pair{int32(i), -1})
		}
		for ; j < tj; j++ {
			out = append(out, pair{-1, int32(j)})
		}
	}
	for _, q := range matched {
		flush(int(q.a), int(q.b))
		out = append(out, q)
		i, j = int(q.a)+1, int(q.b)+1
	}
	flush(n, m)
	return out
}
