package promql

import "sync"

// Query memory. The points of a query (its result included) and the state of
// its aggregations are carved from blocks that the Engine recycles: Close
// hands a query's blocks back and the next query reuses them, so a busy
// engine stops growing the heap and collecting garbage per query. This is
// why a result must not be used after Close, as with upstream's engine.

// Block sizes of the pools, in elements: 32 KiB each, small enough for an
// instant query not to hold much more than it needs.
const (
	pointBlockSize = 2048
	floatBlockSize = 4096
	flagBlockSize  = 32768
)

// bigBlocks is how many times larger than a slab's blocks the blocks are
// that it takes requests over a quarter of a block from: a range query of
// 700 steps fitted two series in a 2,048-point block and left 30% of it
// unused; in a block eight times larger it leaves under 5%.
const bigBlocks = 8

// enginePools recycles query memory between the queries of one Engine.
type enginePools struct {
	buffers   sync.Pool // *evalBuffers
	points    sync.Pool // *[]FPoint of pointBlockSize
	floats    sync.Pool // *[]float64 of floatBlockSize
	flags     sync.Pool // *[]uint8 of flagBlockSize
	bigPoints sync.Pool // the same, bigBlocks times larger
	bigFloats sync.Pool
	bigFlags  sync.Pool
}

// getBuffers returns the scratch space and memory of a new query.
func (p *enginePools) getBuffers() *evalBuffers {
	b, _ := p.buffers.Get().(*evalBuffers)
	if b == nil {
		b = &evalBuffers{}
	}
	b.points.init(&p.points, &p.bigPoints, pointBlockSize)
	b.floats.init(&p.floats, &p.bigFloats, floatBlockSize)
	b.flags.init(&p.flags, &p.bigFlags, flagBlockSize)
	return b
}

// putBuffers returns a finished query's memory to the pools; nothing it
// handed out may be used afterwards.
func (p *enginePools) putBuffers(b *evalBuffers) {
	b.points.release()
	b.floats.release()
	b.flags.release()
	p.buffers.Put(b)
}

// evalBuffers is one query's memory: scratch space reused from series to
// series and slabs for what outlives a series. Child evaluators share it;
// a query is evaluated by one goroutine.
type evalBuffers struct {
	// ts and vs receive a series' samples read in bulk (readSamples only).
	ts []int64
	vs []float64
	// free holds scratch point slices; see getPoints.
	free [][]FPoint

	// hashes holds label hashes (see sameLabels).
	hashes []uint64

	points slab[FPoint]
	floats slab[float64]
	flags  slab[uint8]
}

// getPoints returns an empty scratch slice for points that do not outlive
// the caller, who gives it back with putPoints. Nested evaluations each get
// their own.
func (b *evalBuffers) getPoints() []FPoint {
	n := len(b.free)
	if n == 0 {
		return nil
	}
	s := b.free[n-1]
	b.free = b.free[:n-1]
	return s[:0]
}

func (b *evalBuffers) putPoints(s []FPoint) {
	if cap(s) > 0 {
		b.free = append(b.free, s)
	}
}

// slab carves slices from pooled blocks. Slices are never freed one by one:
// release returns every block at once when the query is done.
type slab[T any] struct {
	pool  *sync.Pool // of *[]T with len size
	size  int
	taken []*[]T
	cur   []T // the current block: len is what has been handed out
	// grown is the size of the last block this query allocated itself.
	grown int
	// big serves the requests over a quarter of a block, from blocks
	// bigBlocks times larger; inBig says start handed out from it.
	big   *slab[T]
	inBig bool
}

func (s *slab[T]) init(pool, bigPool *sync.Pool, size int) {
	s.pool, s.size, s.grown = pool, size, 0
	if s.big == nil {
		s.big = &slab[T]{}
	}
	s.big.pool, s.big.size, s.big.grown = bigPool, size*bigBlocks, 0
}

// isBig reports whether a request for n elements goes to the big blocks.
func (s *slab[T]) isBig(n int) bool { return s.big != nil && n > s.size/4 }

// next makes the current block one with room for n more elements. Requests
// larger than a block get memory of their own, not pooled. With the pool
// empty (after two garbage collections without queries, or at the first
// query), blocks the query allocates itself start at a 32nd of the
// pooled size and double up to it: a small query needs a few hundred
// bytes, not three 32 KiB blocks. Only full-size blocks go to the pool.
func (s *slab[T]) next(n int) {
	if n > s.size {
		s.cur = make([]T, 0, n)
		return
	}
	if b, _ := s.pool.Get().(*[]T); b != nil {
		s.taken = append(s.taken, b)
		s.cur = (*b)[:0]
		return
	}
	size := min(s.size, max(n, s.grown*2, s.size/32))
	s.grown = size
	x := make([]T, size)
	if size == s.size {
		s.taken = append(s.taken, &x)
	}
	s.cur = x[:0]
}

// take returns an empty slice with room for exactly n elements, which the
// caller may append to up to n.
func (s *slab[T]) take(n int) []T {
	if s.isBig(n) {
		return s.big.take(n)
	}
	if cap(s.cur)-len(s.cur) < n {
		s.next(n)
	}
	i := len(s.cur)
	s.cur = s.cur[:i+n]
	return s.cur[i : i : i+n]
}

// zeroed returns a slice of n zero values.
func (s *slab[T]) zeroed(n int) []T {
	x := s.take(n)[:n]
	clear(x)
	return x
}

// start returns an empty slice with room for n elements, to be filled (with
// at most n) and passed to finish, which claims what was written. Nothing
// else may be taken from the slab in between.
func (s *slab[T]) start(n int) []T {
	if s.inBig = s.isBig(n); s.inBig {
		return s.big.start(n)
	}
	if cap(s.cur)-len(s.cur) < n {
		s.next(n)
	}
	return s.cur[len(s.cur):len(s.cur)]
}

func (s *slab[T]) finish(x []T) []T {
	if s.inBig {
		return s.big.finish(x)
	}
	s.cur = s.cur[:len(s.cur)+len(x)]
	return x[:len(x):len(x)]
}

// release returns the slab's blocks to the pool.
func (s *slab[T]) release() {
	if s.big != nil {
		s.big.release()
	}
	for _, b := range s.taken {
		s.pool.Put(b)
	}
	clear(s.taken)
	s.taken = s.taken[:0]
	s.cur = nil
}
