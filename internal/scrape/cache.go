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
