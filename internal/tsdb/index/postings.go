package index

import (
	"container/heap"
	"slices"
)

// Intersect returns the refs present in every list. It starts from the shortest
// list so the work is bounded by it, and gallops through the longer ones.
func Intersect(lists ...[]uint64) []uint64 {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	sorted := slices.Clone(lists)
	slices.SortFunc(sorted, func(a, b []uint64) int { return len(a) - len(b) })
	out := slices.Clone(sorted[0])
	for _, l := range sorted[1:] {
		if len(out) == 0 {
			break
		}
		out = intersectInto(out, l)
	}
	return out
}

// intersectInto keeps in a (in place) the refs also in b.
func intersectInto(a, b []uint64) []uint64 {
	n, j := 0, 0
	for _, v := range a {
		j = seek(b, j, v)
		if j == len(b) {
			break
		}
		if b[j] == v {
			a[n] = v
			n++
		}
	}
	return a[:n]
}

// seek returns the first index >= from with l[i] >= v, by exponential search,
// which is what makes intersecting a short list with a long one cheap.
func seek(l []uint64, from int, v uint64) int {
	if from >= len(l) || l[from] >= v {
		return from
	}
	step := 1
	lo := from
	hi := from + step
	for hi < len(l) && l[hi] < v {
		lo = hi
		step *= 2
		hi = lo + step
	}
	if hi > len(l) {
		hi = len(l)
	}
	i, _ := slices.BinarySearch(l[lo:hi], v)
	return lo + i
}

// Without returns the refs of a that are not in b.
func Without(a, b []uint64) []uint64 {
	if len(a) == 0 || len(b) == 0 {
		return a
	}
	out := make([]uint64, 0, len(a))
	j := 0
	for _, v := range a {
		j = seek(b, j, v)
		if j < len(b) && b[j] == v {
			continue
		}
		out = append(out, v)
	}
	return out
}

// Union returns the sorted, de-duplicated union of the lists.
func Union(lists ...[]uint64) []uint64 {
	nonEmpty := lists[:0:0]
	total := 0
	for _, l := range lists {
		if len(l) > 0 {
			nonEmpty = append(nonEmpty, l)
			total += len(l)
		}
	}
	switch len(nonEmpty) {
	case 0:
		return nil
	case 1:
		return nonEmpty[0]
	case 2:
		return union2(nonEmpty[0], nonEmpty[1])
	}
	if len(nonEmpty) > 64 {
		// Many small lists (a regexp over a high-cardinality label): sorting the
		// concatenation beats a heap merge.
		out := make([]uint64, 0, total)
		for _, l := range nonEmpty {
			out = append(out, l...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	h := make(postingsHeap, 0, len(nonEmpty))
	for _, l := range nonEmpty {
		h = append(h, l)
	}
	heap.Init(&h)
	out := make([]uint64, 0, total)
	for len(h) > 0 {
		v := h[0][0]
		if n := len(out); n == 0 || out[n-1] != v {
			out = append(out, v)
		}
		h[0] = h[0][1:]
		if len(h[0]) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return out
}

func union2(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

type postingsHeap [][]uint64

func (h postingsHeap) Len() int           { return len(h) }
func (h postingsHeap) Less(i, j int) bool { return h[i][0] < h[j][0] }
func (h postingsHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *postingsHeap) Push(x any)        { *h = append(*h, x.([]uint64)) }
func (h *postingsHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
