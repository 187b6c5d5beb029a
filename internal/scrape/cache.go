package scrape

import (
	"github.com/prometheus/prometheus/model/labels"
)

// cache maps the raw series text of a target's exposition ("name{a="b"}") to
// what scraping it produced last time: the storage ref and final labels, or
// that relabeling dropped it. A series seen again costs one map lookup instead
// of parsing labels, applying target labels and relabeling, and hashing.
// It is owned by one loop (no locking).
type cache struct {
	entries map[string]*cacheEntry
	// iter counts scrapes; stale is the iteration whose series are compared
	// against the current one for staleness markers.
	iter uint64
	prev uint64
}

type cacheEntry struct {
	// key is the series text the entry is stored under.
	key     string
	ref     uint64
	lset    labels.Labels
	dropped bool
	// evicted is set when the entry leaves the map; a loop's page-order
	// list may still hold it and must not use it.
	evicted bool
	// seen is the last iteration the series was in a scrape; tracked is the
	// last iteration it was appended in a way that makes its disappearance a
	// staleness marker (no explicit timestamp, or track_timestamps_staleness).
	seen    uint64
	tracked uint64
}

// cacheEvictAfter is how many scrapes a series may be absent before its cache
// entry is dropped. Staleness needs only the previous scrape; keeping a few
// more saves relabeling series that come and go.
const cacheEvictAfter = 10

func newCache() *cache { return &cache{entries: map[string]*cacheEntry{}} }

// begin starts a scrape and returns its iteration.
func (c *cache) begin() uint64 {
	c.iter++
	return c.iter
}

// get looks up the series with raw text met; the conversion in the index
// expression does not allocate.
func (c *cache) get(met []byte) (*cacheEntry, bool) {
	e, ok := c.entries[string(met)]
	return e, ok
}

func (c *cache) add(met []byte, e *cacheEntry) {
	e.key = string(met)
	c.entries[e.key] = e
}

// track marks the series a successful scrape appended (cur) as seen, and
// those without explicit timestamps (or with track_timestamps_staleness) as
// tracked for staleness. A failed scrape's series are never marked, so its
// rolled-back samples do not count.
func (c *cache) track(cur []*cacheEntry, tracked []bool) {
	for i, e := range cur {
		e.seen = c.iter
		if tracked[i] {
			e.tracked = c.iter
		}
	}
}

// staleSince calls fn for every series tracked in the previous scrape that the
// current one did not track.
func (c *cache) staleSince(fn func(e *cacheEntry)) {
	if c.prev == 0 {
		return
	}
	for _, e := range c.entries {
		if e.tracked == c.prev && e.tracked != c.iter && !e.dropped {
			fn(e)
		}
	}
}

// end finishes a scrape: its series are what the next one is compared with,
// and long-absent entries are evicted.
func (c *cache) end() {
	c.prev = c.iter
	if c.iter%cacheEvictAfter != 0 {
		return
	}
	for k, e := range c.entries {
		if c.iter-e.seen > cacheEvictAfter {
			e.evicted = true
			delete(c.entries, k)
		}
	}
}

// textSeq is a sequence of texts (a series' text, or a metadata line as
// field, name and value) stored back to back, so that comparing a page with
// the previous one position by position reads memory in order instead of
// following a pointer per line.
type textSeq struct {
	buf []byte
	// ends[i] is where item i ends in buf; nameEnds[i] where its name ends.
	ends, nameEnds []int32
}

func (s *textSeq) reset() {
	s.buf, s.ends, s.nameEnds = s.buf[:0], s.ends[:0], s.nameEnds[:0]
}

func (s *textSeq) len() int { return len(s.ends) }

// add appends an item: a tag byte (0 for series), a name and a value.
func (s *textSeq) add(tag byte, name, value []byte) {
	if tag != 0 {
		s.buf = append(s.buf, tag)
	}
	s.buf = append(s.buf, name...)
	s.nameEnds = append(s.nameEnds, int32(len(s.buf)))
	s.buf = append(s.buf, value...)
	s.ends = append(s.ends, int32(len(s.buf)))
}

func (s *textSeq) start(i int) int32 {
	if i == 0 {
		return 0
	}
	return s.ends[i-1]
}

// at returns series text i.
func (s *textSeq) at(i int) []byte { return s.buf[s.start(i):s.ends[i]] }

// equal reports whether item i is the metadata line (tag, name, value).
func (s *textSeq) equal(i int, tag byte, name []byte, value string) bool {
	start, mid, end := s.start(i), s.nameEnds[i], s.ends[i]
	return end > start && s.buf[start] == tag && string(s.buf[start+1:mid]) == string(name) && string(s.buf[mid:end]) == value
}
