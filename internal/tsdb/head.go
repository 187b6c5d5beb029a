package tsdb

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/tsdb/chunkenc"
)

// memSeries is one series of the head. Its labels and ref never change. The open
// chunk holds the samples appended since the last flush to a head part; older
// head samples live in parts on disk, so a series costs little memory however
// long the head is.
type memSeries struct {
	ref uint64
	// syms are the series' labels as symbol ids of the head's symbolTable.
	syms string

	mu sync.Mutex
	// logged is set once the series record is in the series log (under commitMu).
	logged bool
	// removed is set (under mu) when garbage collection drops the series.
	removed bool
	// pending counts samples appended but not yet committed or rolled back
	// (under mu); garbage collection leaves such series alone.
	pending int32
	// flushedIn is the sequence number of the newest head part holding a chunk
	// of this series (under mu). A query that read the open chunk reads parts
	// up to this one and no newer, so a concurrent flush neither hides nor
	// duplicates samples.
	flushedIn uint32
	// lastT and lastV are the newest committed sample, used for the ordering and
	// duplicate rules; lastT is math.MinInt64 when the series has no sample.
	lastT int64
	lastV float64
	// chunk is the open chunk; chunkMinT is the time of its first sample.
	chunk     chunkenc.XORAppender
	chunkMinT int64
}

func newMemSeries(ref uint64, syms string) *memSeries {
	return &memSeries{ref: ref, syms: syms, lastT: math.MinInt64}
}

// seriesStripes is the head's series table: ref → series in a dense,
// lock-free-to-read table (refs are handed out consecutively), and labels hash
// → series in maps split into stripes so concurrent appenders rarely share a
// lock.
type seriesStripes struct {
	symbols *symbolTable
	byRef   refTable
	byHash  [stripes]hashStripe
}

const stripes = 1 << 10

type hashStripe struct {
	mu sync.RWMutex
	// Hash collisions between different label sets are rare; they share a slice.
	m map[uint64][]*memSeries
}

func newSeriesStripes(symbols *symbolTable) *seriesStripes {
	s := &seriesStripes{symbols: symbols}
	for i := range s.byHash {
		s.byHash[i].m = map[uint64][]*memSeries{}
	}
	return s
}

// refTable maps refs to series. Refs are dense, so a two-level array beats a
// hash map: a lookup is two dependent loads and no hashing, which matters on
// replay (every WAL sample) and for every Append with a cached ref. Pages whose
// series are all gone are freed, so churn does not grow it without bound.
// Readers take no lock; writers serialise on mu and publish with atomics.
type refTable struct {
	mu    sync.Mutex
	pages atomic.Pointer[[]*refPage]
	live  atomic.Int64
}

const refPageBits = 14

type refPage struct {
	slots [1 << refPageBits]atomic.Pointer[memSeries]
	live  int // guarded by refTable.mu
}

func (t *refTable) get(ref uint64) *memSeries {
	pp := t.pages.Load()
	if pp == nil {
		return nil
	}
	i := ref >> refPageBits
	if i >= uint64(len(*pp)) {
		return nil
	}
	p := (*pp)[i]
	if p == nil {
		return nil
	}
	return p.slots[ref&(1<<refPageBits-1)].Load()
}

// set stores ms under its ref; it reports false if the ref is taken.
func (t *refTable) set(ms *memSeries) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := int(ms.ref >> refPageBits)
	var pages []*refPage
	if pp := t.pages.Load(); pp != nil {
		pages = *pp
	}
	if i >= len(pages) || pages[i] == nil {
		grown := make([]*refPage, max(len(pages), i+1))
		copy(grown, pages)
		grown[i] = &refPage{}
		pages = grown
		t.pages.Store(&pages)
	}
	slot := &pages[i].slots[ms.ref&(1<<refPageBits-1)]
	if slot.Load() != nil {
		return false
	}
	slot.Store(ms)
	pages[i].live++
	t.live.Add(1)
	return true
}

// del removes ms; a page left empty is freed unless later refs may still land
// in it (below nextRef).
func (t *refTable) del(ms *memSeries, nextRef uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pp := t.pages.Load()
	i := int(ms.ref >> refPageBits)
	if pp == nil || i >= len(*pp) || (*pp)[i] == nil {
		return
	}
	p := (*pp)[i]
	if p.slots[ms.ref&(1<<refPageBits-1)].CompareAndSwap(ms, nil) {
		p.live--
		t.live.Add(-1)
	}
	if p.live == 0 && uint64(i+1)<<refPageBits <= nextRef {
		pages := slices.Clone(*pp)
		pages[i] = nil
		t.pages.Store(&pages)
	}
}

// forEach calls fn for every series in ref order.
func (t *refTable) forEach(fn func(*memSeries)) {
	pp := t.pages.Load()
	if pp == nil {
		return
	}
	for _, p := range *pp {
		if p == nil {
			continue
		}
		for j := range p.slots {
			if ms := p.slots[j].Load(); ms != nil {
				fn(ms)
			}
		}
	}
}

func (s *seriesStripes) getByRef(ref uint64) *memSeries { return s.byRef.get(ref) }

func (s *seriesStripes) getByLabels(hash uint64, lset labels.Labels) *memSeries {
	st := &s.byHash[hash&(stripes-1)]
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, ms := range st.m[hash] {
		if s.symbols.equal(ms.syms, lset) {
			return ms
		}
	}
	return nil
}

// getOrCreate returns the series with lset, creating it if absent. A new
// series gets its ref from the index while the hash stripe is locked, so refs
// enter every postings list in increasing order even when many appenders create
// series at once. created reports whether this call created it.
func (s *seriesStripes) getOrCreate(hash uint64, lset labels.Labels, ix *memIndex) (ms *memSeries, created bool) {
	st := &s.byHash[hash&(stripes-1)]
	st.mu.Lock()
	for _, ms := range st.m[hash] {
		if s.symbols.equal(ms.syms, lset) {
			st.mu.Unlock()
			return ms, false
		}
	}
	ms = newMemSeries(0, s.symbols.encode(lset))
	ms.ref = ix.addNew(ms.syms)
	st.m[hash] = append(st.m[hash], ms)
	st.mu.Unlock()
	s.byRef.set(ms)
	return ms, true
}

// add inserts a series with a known ref and the hash of its labels (replay);
// it is a no-op returning the existing series if the ref is present.
func (s *seriesStripes) add(ms *memSeries, hash uint64) *memSeries {
	if !s.byRef.set(ms) {
		return s.byRef.get(ms.ref)
	}
	st := &s.byHash[hash&(stripes-1)]
	st.mu.Lock()
	st.m[hash] = append(st.m[hash], ms)
	st.mu.Unlock()
	return ms
}

func (s *seriesStripes) remove(ms *memSeries, hash uint64, nextRef uint64) {
	s.byRef.del(ms, nextRef)
	st := &s.byHash[hash&(stripes-1)]
	st.mu.Lock()
	list := st.m[hash]
	if i := slices.Index(list, ms); i >= 0 {
		list = slices.Delete(slices.Clone(list), i, i+1)
	}
	if len(list) == 0 {
		delete(st.m, hash)
	} else {
		st.m[hash] = list
	}
	st.mu.Unlock()
}

// forEach calls fn for every series, in ref order.
func (s *seriesStripes) forEach(fn func(*memSeries)) { s.byRef.forEach(fn) }

func (s *seriesStripes) count() int { return int(s.byRef.live.Load()) }

// memIndex is the head's inverted index. It also hands out series refs, so
// postings lists only grow at the end: a reader may keep a list it got under the
// read lock while writers append; removals build new slices.
type memIndex struct {
	symbols  *symbolTable
	mu       sync.RWMutex
	lastRef  uint64
	postings map[string]map[string][]uint64
	all      []uint64
}

func newMemIndex(symbols *symbolTable) *memIndex {
	return &memIndex{symbols: symbols, postings: map[string]map[string][]uint64{}}
}

// addNew assigns the next ref to a new series and indexes it.
func (ix *memIndex) addNew(syms string) uint64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.lastRef++
	ix.addLocked(ix.lastRef, syms)
	return ix.lastRef
}

// highestRef returns the highest ref handed out so far.
func (ix *memIndex) highestRef() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.lastRef
}

// setHighestRef raises the ref counter (replay of a recLastRef record).
func (ix *memIndex) setHighestRef(ref uint64) {
	ix.mu.Lock()
	ix.lastRef = max(ix.lastRef, ref)
	ix.mu.Unlock()
}

// load indexes series with known refs (replay), in any order; finishLoad must
// follow before the index is read.
func (ix *memIndex) load(ref uint64, syms string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.lastRef = max(ix.lastRef, ref)
	ix.addLocked(ref, syms)
}

// addLocked indexes a series (ix.mu held). The map keys are the interned
// strings of the symbol table, shared with every other series using them.
func (ix *memIndex) addLocked(ref uint64, syms string) {
	ix.symbols.forEach(syms, func(name, value string) {
		vals := ix.postings[name]
		if vals == nil {
			vals = map[string][]uint64{}
			ix.postings[name] = vals
		}
		vals[value] = append(vals[value], ref)
	})
	ix.all = append(ix.all, ref)
}

// finishLoad sorts the postings lists after load, which the series log may
// feed out of ref order (series are logged at commit, in commit order).
func (ix *memIndex) finishLoad() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, vals := range ix.postings {
		for _, l := range vals {
			slices.Sort(l)
		}
	}
	slices.Sort(ix.all)
}

// remove deletes series from the index (their symbols must still be held).
func (ix *memIndex) remove(dead []*memSeries) {
	if len(dead) == 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	refs := make(map[uint64]struct{}, len(dead))
	touched := map[labels.Label]struct{}{}
	for _, s := range dead {
		refs[s.ref] = struct{}{}
		ix.symbols.forEach(s.syms, func(name, value string) {
			touched[labels.Label{Name: name, Value: value}] = struct{}{}
		})
	}
	keep := func(l []uint64) []uint64 {
		out := make([]uint64, 0, len(l))
		for _, r := range l {
			if _, ok := refs[r]; !ok {
				out = append(out, r)
			}
		}
		return out
	}
	for l := range touched {
		vals := ix.postings[l.Name]
		if vals == nil {
			continue
		}
		if p := keep(vals[l.Value]); len(p) > 0 {
			vals[l.Value] = p
		} else {
			delete(vals, l.Value)
			if len(vals) == 0 {
				delete(ix.postings, l.Name)
			}
		}
	}
	ix.all = keep(ix.all)
}

// Postings implements index.Source.
func (ix *memIndex) Postings(name, value string) ([]uint64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.postings[name][value], nil
}

// LabelValues implements index.Source.
func (ix *memIndex) LabelValues(name string) ([]string, error) {
	ix.mu.RLock()
	vals := make([]string, 0, len(ix.postings[name]))
	for v := range ix.postings[name] {
		vals = append(vals, v)
	}
	ix.mu.RUnlock()
	slices.Sort(vals)
	return vals, nil
}

// AllPostings implements index.Source.
func (ix *memIndex) AllPostings() ([]uint64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.all, nil
}

func (ix *memIndex) labelNames() []string {
	ix.mu.RLock()
	names := make([]string, 0, len(ix.postings))
	for n := range ix.postings {
		names = append(names, n)
	}
	ix.mu.RUnlock()
	slices.Sort(names)
	return names
}

// atomicMinMax tracks the head's time range.
type atomicMinMax struct {
	min, max atomic.Int64
}

func newAtomicMinMax() *atomicMinMax {
	m := &atomicMinMax{}
	m.min.Store(math.MaxInt64)
	m.max.Store(math.MinInt64)
	return m
}

func (m *atomicMinMax) observe(t int64) {
	for {
		cur := m.min.Load()
		if t >= cur || m.min.CompareAndSwap(cur, t) {
			break
		}
	}
	for {
		cur := m.max.Load()
		if t <= cur || m.max.CompareAndSwap(cur, t) {
			break
		}
	}
}
