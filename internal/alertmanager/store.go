package alertmanager

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/common/model"
)

// ErrLimited is returned (wrapped, with the limit) for an alert refused
// because the store or the aggregation groups are full.
var ErrLimited = errors.New("alert limit reached")

// Kinds of limits, the label values of alerts_limited_total.
const (
	limitAlerts       = "max_alerts"
	limitPerAlertname = "per_alertname"
	limitGroups       = "max_aggregation_groups"
)

// limitError is an ErrLimited with the limit that refused the alert.
type limitError struct {
	kind string
	msg  string
}

func (e *limitError) Error() string { return ErrLimited.Error() + ": " + e.msg }
func (e *limitError) Unwrap() error { return ErrLimited }

// store holds the current alerts by fingerprint.
type store struct {
	mu     sync.RWMutex
	alerts map[model.Fingerprint]*entry
	// maxAlerts bounds len(alerts); perName bounds the alerts of one
	// alertname (0: no bound), counted in byName (only then).
	maxAlerts int
	perName   int
	byName    map[model.LabelValue]int
	// full is set when an alert was refused, so that the next maintain
	// drops resolved alerts at once to make room.
	full bool
}

// entry is a stored alert and the state history last recorded for it.
type entry struct {
	a *alert.Alert
	// resolved is the state last recorded in the history, so that the
	// maintenance loop records resolutions by timeout once.
	resolved bool
}

func newStore(maxAlerts, perName int) *store {
	return &store{alerts: map[model.Fingerprint]*entry{}, maxAlerts: maxAlerts, perName: perName, byName: map[model.LabelValue]int{}}
}

// set stores a, merged with the stored alert of the same labels when their
// activity overlaps, as Alertmanager does. It returns the stored alert and
// whether the state changed (new, fired again, or resolved). A new alert
// past a limit is refused with a *limitError.
func (s *store) set(a *alert.Alert, now time.Time) (stored *alert.Alert, changed bool, err error) {
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
	} else {
		if err := s.admit(a); err != nil {
			s.full = true
			return nil, false, err
		}
		if s.perName > 0 {
			s.byName[a.Labels[model.AlertNameLabel]]++
		}
	}
	resolved := a.ResolvedAt(now)
	changed = !ok || old.resolved != resolved
	s.alerts[fp] = &entry{a: a, resolved: resolved}
	return a, changed, nil
}

// admit checks that a new alert fits; the caller holds mu.
func (s *store) admit(a *alert.Alert) error {
	if len(s.alerts) >= s.maxAlerts {
		return &limitError{kind: limitAlerts, msg: fmt.Sprintf("%d alerts stored, the most allowed", len(s.alerts))}
	}
	if s.perName <= 0 {
		return nil
	}
	name := a.Labels[model.AlertNameLabel]
	if n := s.byName[name]; n >= s.perName {
		return &limitError{kind: limitPerAlertname, msg: fmt.Sprintf("%d alerts named %q stored, the most allowed per alertname", n, name)}
	}
	return nil
}

// delete removes the alert of fp; the caller holds mu.
func (s *store) delete(fp model.Fingerprint, e *entry) {
	delete(s.alerts, fp)
	if s.perName <= 0 {
		return
	}
	name := e.a.Labels[model.AlertNameLabel]
	if s.byName[name]--; s.byName[name] <= 0 {
		delete(s.byName, name)
	}
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
// since the last call, and deletes those resolved before deleteBefore, or
// every resolved one if an alert was refused since the last call: room
// for firing alerts matters more than remembering resolved ones.
func (s *store) maintain(now, deleteBefore time.Time) (newlyResolved []*alert.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		deleteBefore = now
		s.full = false
	}
	for fp, e := range s.alerts {
		if !e.a.ResolvedAt(now) {
			continue
		}
		if !e.resolved {
			e.resolved = true
			newlyResolved = append(newlyResolved, e.a)
		}
		if !e.a.EndsAt.After(deleteBefore) {
			s.delete(fp, e)
		}
	}
	return newlyResolved
}
