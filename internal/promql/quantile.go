package promql

import (
	"math"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/util/almost"
)

// smallDeltaTolerance is the relative difference below which neighbouring
// classic-histogram bucket counts are taken as equal (float noise), as upstream.
const smallDeltaTolerance = 1e-12

// bucket is one bucket of a classic histogram: the cumulative count of
// observations up to UpperBound (the "le" label).
type bucket struct {
	UpperBound float64
	Count      float64
}

// quantile returns the q-quantile of values by linear interpolation between
// the closest ranks; it sorts values.
func quantile(q float64, values []float64) float64 {
	if len(values) == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(+1)
	}
	slices.Sort(values)
	n := float64(len(values))
	rank := q * (n - 1)
	lower := math.Max(0, math.Floor(rank))
	upper := math.Min(n-1, lower+1)
	weight := rank - math.Floor(rank)
	if weight == 0 {
		return values[int(lower)]
	}
	return values[int(lower)]*(1-weight) + values[int(upper)]*weight
}

func sortBuckets(buckets []bucket) {
	slices.SortFunc(buckets, func(a, b bucket) int {
		switch {
		case a.UpperBound < b.UpperBound:
			return -1
		case a.UpperBound > b.UpperBound:
			return +1
		}
		return 0
	})
}

// bucketQuantile is upstream's BucketQuantile: the q-quantile of a classic
// histogram, interpolating linearly within the bucket it falls in.
func bucketQuantile(q float64, buckets []bucket) (quantile float64, forcedMonotonic bool, minBucket, maxBucket, maxDiff float64) {
	switch {
	case math.IsNaN(q):
		return math.NaN(), false, 0, 0, 0
	case q < 0:
		return math.Inf(-1), false, 0, 0, 0
	case q > 1:
		return math.Inf(+1), false, 0, 0, 0
	}
	if len(buckets) == 0 {
		return math.NaN(), false, 0, 0, 0
	}
	sortBuckets(buckets)
	if !math.IsInf(buckets[len(buckets)-1].UpperBound, +1) {
		return math.NaN(), false, 0, 0, 0
	}
	buckets = coalesceBuckets(buckets)
	forcedMonotonic, minBucket, maxBucket, maxDiff = ensureMonotonic(buckets, smallDeltaTolerance)
	if len(buckets) < 2 {
		return math.NaN(), forcedMonotonic, minBucket, maxBucket, maxDiff
	}
	observations := buckets[len(buckets)-1].Count
	if observations == 0 {
		return math.NaN(), forcedMonotonic, minBucket, maxBucket, maxDiff
	}
	rank := q * observations
	b := sort.Search(len(buckets)-1, func(i int) bool { return buckets[i].Count >= rank })
	switch {
	case b == len(buckets)-1:
		quantile = buckets[len(buckets)-2].UpperBound
	case b == 0 && buckets[0].UpperBound <= 0:
		quantile = buckets[0].UpperBound
	default:
		var start float64
		end, count := buckets[b].UpperBound, buckets[b].Count
		if b > 0 {
			start = buckets[b-1].UpperBound
			count -= buckets[b-1].Count
			rank -= buckets[b-1].Count
		}
		quantile = start + (end-start)*(rank/count)
	}
	return quantile, forcedMonotonic, minBucket, maxBucket, maxDiff
}

// bucketFraction is upstream's BucketFraction: the estimated fraction of
// observations between lower and upper.
func bucketFraction(lower, upper float64, buckets []bucket) float64 {
	if len(buckets) == 0 {
		return math.NaN()
	}
	sortBuckets(buckets)
	if !math.IsInf(buckets[len(buckets)-1].UpperBound, +1) {
		return math.NaN()
	}
	buckets = coalesceBuckets(buckets)
	count := buckets[len(buckets)-1].Count
	if count == 0 || math.IsNaN(lower) || math.IsNaN(upper) {
		return math.NaN()
	}
	if lower >= upper {
		return 0
	}
	var rank, lowerRank, upperRank float64
	var lowerSet, upperSet bool
	lowerBound := 0.0
	if buckets[0].UpperBound <= 0 {
		lowerBound = math.Inf(-1)
	}
	for i, b := range buckets {
		if i > 0 {
			lowerBound = buckets[i-1].UpperBound
		}
		upperBound := b.UpperBound
		interpolate := func(v float64) float64 {
			if lowerBound == math.Inf(-1) {
				return b.Count
			}
			return rank + (b.Count-rank)*(v-lowerBound)/(upperBound-lowerBound)
		}
		if !lowerSet && lowerBound >= lower {
			lowerRank, lowerSet = rank, true
		}
		if !upperSet && lowerBound >= upper {
			upperRank, upperSet = rank, true
		}
		if lowerSet && upperSet {
			break
		}
		if !lowerSet && lowerBound < lower && upperBound > lower {
			lowerRank, lowerSet = interpolate(lower), true
		}
		if !upperSet && lowerBound < upper && upperBound > upper {
			upperRank, upperSet = interpolate(upper), true
		}
		if lowerSet && upperSet {
			break
		}
		rank = b.Count
	}
	if !lowerSet || lowerRank > count {
		lowerRank = count
	}
	if !upperSet || upperRank > count {
		upperRank = count
	}
	return (upperRank - lowerRank) / count
}

// coalesceBuckets merges buckets with the same upper bound; buckets are sorted.
func coalesceBuckets(buckets []bucket) []bucket {
	last := buckets[0]
	i := 0
	for _, b := range buckets[1:] {
		if b.UpperBound == last.UpperBound {
			last.Count += b.Count
		} else {
			buckets[i] = last
			last = b
			i++
		}
	}
	buckets[i] = last
	return buckets[:i+1]
}

// ensureMonotonic makes bucket counts non-decreasing, ignoring differences
// within tolerance, and reports where it had to force monotonicity.
func ensureMonotonic(buckets []bucket, tolerance float64) (forced bool, minBucket, maxBucket, maxDiff float64) {
	minBucket, maxBucket = math.Inf(+1), math.Inf(-1)
	prev := buckets[0].Count
	for i := 1; i < len(buckets); i++ {
		curr := buckets[i].Count
		if curr == prev {
			continue
		}
		if almost.Equal(prev, curr, tolerance) {
			buckets[i].Count = prev
			continue
		}
		if curr < prev {
			buckets[i].Count = prev
			forced = true
			minBucket = math.Min(minBucket, buckets[i].UpperBound)
			maxBucket = math.Max(maxBucket, buckets[i].UpperBound)
			maxDiff = math.Max(maxDiff, prev-curr)
			continue
		}
		prev = curr
	}
	return forced, minBucket, maxBucket, maxDiff
}
