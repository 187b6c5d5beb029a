package index

import (
	"context"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
)

// Source is what matcher evaluation needs from an index: the in-memory head and
// block readers implement it. Returned lists are read-only and sorted.
type Source interface {
	// Postings returns the series having the label pair, or nil.
	Postings(name, value string) ([]uint64, error)
	// LabelValues returns the sorted distinct values of the label name.
	LabelValues(name string) ([]string, error)
	// AllPostings returns every series of the source.
	AllPostings() ([]uint64, error)
}

// PostingsForMatchers returns the sorted refs of the series that satisfy every
// matcher. A matcher that matches the empty string also selects series that do not
// have the label at all, as in PromQL.
//
// Each matcher becomes either a set to intersect (the label must be present with
// a matching value) or a set to subtract (series having the label with a value the
// matcher rejects); the result is the intersection minus the union of the
// subtractions, with all series as the base when nothing intersects.
func PostingsForMatchers(ctx context.Context, src Source, ms ...*labels.Matcher) ([]uint64, error) {
	var its, nots [][]uint64
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if m.Matches("") {
			// Series without the label match; remove those whose value fails.
			p, err := postingsWhere(src, m, false)
			if err != nil {
				return nil, err
			}
			nots = append(nots, p)
			continue
		}
		p, err := postingsWhere(src, m, true)
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			return nil, nil
		}
		its = append(its, p)
	}
	var base []uint64
	if len(its) == 0 {
		all, err := src.AllPostings()
		if err != nil {
			return nil, fmt.Errorf("all postings: %w", err)
		}
		base = all
	} else {
		base = Intersect(its...)
	}
	if len(base) == 0 {
		return nil, nil
	}
	if len(nots) > 0 {
		base = Without(base, Union(nots...))
	}
	return base, nil
}

// postingsWhere returns the union of the postings of the values v of m.Name with
// m.Matches(v) == want, skipping the empty value (no series stores it).
func postingsWhere(src Source, m *labels.Matcher, want bool) ([]uint64, error) {
	// Fast paths that avoid walking every value of the label.
	switch {
	case m.Type == labels.MatchEqual && want:
		return src.Postings(m.Name, m.Value)
	case m.Type == labels.MatchNotEqual && !want:
		return src.Postings(m.Name, m.Value)
	case m.Type == labels.MatchRegexp && want:
		if set := m.SetMatches(); len(set) > 0 {
			return unionOf(src, m.Name, set)
		}
	case m.Type == labels.MatchNotRegexp && !want:
		if set := m.SetMatches(); len(set) > 0 {
			return unionOf(src, m.Name, set)
		}
	}
	vals, err := src.LabelValues(m.Name)
	if err != nil {
		return nil, fmt.Errorf("label values of %q: %w", m.Name, err)
	}
	lists := make([][]uint64, 0, 8)
	for _, v := range vals {
		if v == "" || m.Matches(v) != want {
			continue
		}
		p, err := src.Postings(m.Name, v)
		if err != nil {
			return nil, err
		}
		lists = append(lists, p)
	}
	return Union(lists...), nil
}

func unionOf(src Source, name string, values []string) ([]uint64, error) {
	lists := make([][]uint64, 0, len(values))
	for _, v := range values {
		if v == "" {
			continue
		}
		p, err := src.Postings(name, v)
		if err != nil {
			return nil, err
		}
		lists = append(lists, p)
	}
	return Union(lists...), nil
}
