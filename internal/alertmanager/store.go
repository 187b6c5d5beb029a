package alertmanager

import (
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/common/model"
)

// store holds the current alerts by fingerprint.
type store struct {
	mu     sync.RWMutex
	alerts map[model.Fingerprint]*entry
}

// entry is a stored alert and the state history last recorded for it.
type entry struct {
	a *alert.Alert
	// resolved is the state last recorded in the history, so that the
	// maintenance loop records resolutions by timeout once.
	resolved bool
}

func newStore() *store {
	return &store{alerts: map[model.Fingerprint]*entry{}}
}

// set stores a, merged with the stored alert of the same labels when their
// activity overlaps, as Alertmanager does. It returns the stored alert and
// whether the state changed (new, fired again, or resolved).
func (s *store) set(a *alert.Alert, now time.Time) (stored *alert.Alert, changed bool) {
	fp := a.Fingerprint()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.alerts[fp]
	if ok {
		o := old.a
		if (a.EndsAt.After(o.StartsAt) && a.EndsAt.Before(o.EndsAt)) ||
			(a.StartsAt.After(o.StartsAt) && a.StartsAt.Before(o.EndsAt)) {
			a = o.Merge(a)
		}
	}
	resolved := a.ResolvedAt(now)
	changed = !ok || old.resolved != resolved
	s.alerts[fp] = &entry{a: a, resolved: resolved}
	return a, changed
}

func (s *store) get(fp model.Fingerprint) (*alert.Alert, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.alerts[fp]
	if !ok {
		return nil, false
	}
	return e.a, true
}

// list returns every stored alert.
func (s *store) list() []*alert.Alert {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*alert.Alert, 0, len(s.alerts))
	for _, e := range s.alerts {
		out = append(out, e.a)
	}
	return out
}

func (s *store) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.alerts)
}

// maintain returns the alerts that resolved (by their end time passing)
// since the last call, and deletes those resolved before deleteBefore.
func (s *store) maintain(now, deleteBefore time.Time) (newlyResolved []*alert.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for fp, e := range s.alerts {
		if !e.a.ResolvedAt(now) {
			continue
		}
		if !e.resolved {
			e.resolved = true
			newlyResolved = append(newlyResolved, e.a)
		}
		if e.a.EndsAt.Before(deleteBefore) {
			delete(s.alerts, fp)
		}
	}
	return newlyResolved
}
