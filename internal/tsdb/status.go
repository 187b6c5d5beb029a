package tsdb

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"
)

// HeadStatus is the cardinality of the head, the figures of Prometheus's
// /api/v1/status/tsdb. The lists are sorted by count, largest first, and cut
// to the limit given to HeadStatus.
type HeadStatus struct {
	NumSeries     uint64
	NumLabelPairs int
	// ChunkCount is the number of open in-memory chunks (one per series with
	// samples since the last flush); chunks already flushed to head parts are
	// not counted.
	ChunkCount int64
	// MinTime and MaxTime bound the head's samples: math.MaxInt64 and
	// math.MinInt64 for an empty head, as in Prometheus.
	MinTime, MaxTime int64

	SeriesCountByMetricName     []NameCount
	LabelValueCountByLabelName  []NameCount
	MemoryInBytesByLabelName    []NameCount // bytes of the values, times the series using them
	SeriesCountByLabelValuePair []NameCount // Name is "name=value"
}

// HeadStatus computes the head's cardinality figures, keeping the top limit
// entries of each list (all of them if limit <= 0). It reads the head's index
// under its read lock, so it costs one pass over the label pairs.
func (db *DB) HeadStatus(limit int) HeadStatus {
	h := db.head
	st := HeadStatus{
		NumSeries: uint64(h.series.count()),
		MinTime:   h.minMax.min.Load(),
		MaxTime:   h.minMax.max.Load(),
	}
	if st.MinTime != math.MaxInt64 {
		st.MinTime = max(st.MinTime, h.truncatedBefore.Load())
	}
	ix := h.index
	ix.mu.RLock()
	for name, values := range ix.postings {
		st.LabelValueCountByLabelName = append(st.LabelValueCountByLabelName, NameCount{name, len(values)})
		bytes := 0
		for value, refs := range values {
			st.NumLabelPairs++
			if name == labels.MetricName {
				st.SeriesCountByMetricName = append(st.SeriesCountByMetricName, NameCount{value, len(refs)})
			}
			st.SeriesCountByLabelValuePair = append(st.SeriesCountByLabelValuePair, NameCount{name + "=" + value, len(refs)})
			bytes += len(value) * len(refs)
		}
		st.MemoryInBytesByLabelName = append(st.MemoryInBytesByLabelName, NameCount{name, bytes})
	}
	ix.mu.RUnlock()
	h.series.forEach(func(s *memSeries) {
		s.mu.Lock()
		if s.chunk.Len() > 0 {
			st.ChunkCount++
		}
		s.mu.Unlock()
	})
	st.SeriesCountByMetricName = topN(st.SeriesCountByMetricName, limit)
	st.LabelValueCountByLabelName = topN(st.LabelValueCountByLabelName, limit)
	st.MemoryInBytesByLabelName = topN(st.MemoryInBytesByLabelName, limit)
	st.SeriesCountByLabelValuePair = topN(st.SeriesCountByLabelValuePair, limit)
	return st
}
