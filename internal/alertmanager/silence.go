package alertmanager

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// Silence states, as the API reports them.
const (
	SilenceStatePending = "pending"
	SilenceStateActive  = "active"
	SilenceStateExpired = "expired"
)

// ErrSilenceNotFound is returned for a silence ID that does not exist (or
// no longer: expired silences are deleted after the retention period).
var ErrSilenceNotFound = errors.New("silence not found")

// ErrSilenceExpired is returned when expiring a silence that already is.
var ErrSilenceExpired = errors.New("silence already expired")

// Silence mutes the alerts its matchers all match between StartsAt and
// EndsAt.
type Silence struct {
	ID        string
	Matchers  labels.Matchers
	StartsAt  time.Time
	EndsAt    time.Time
	UpdatedAt time.Time
	CreatedBy string
	Comment   string
}

// State returns the silence's state at now.
func (s *Silence) State(now time.Time) string {
	switch {
	case !now.Before(s.EndsAt):
		return SilenceStateExpired
	case now.Before(s.StartsAt):
		return SilenceStatePending
	}
	return SilenceStateActive
}

// Validate checks a silence as Alertmanager does before storing it.
func (s *Silence) Validate() error {
	if len(s.Matchers) == 0 {
		return errors.New("at least one matcher required")
	}
	allEmpty := true
	for _, m := range s.Matchers {
		if m == nil {
			return errors.New("nil matcher")
		}
		if !model.LabelName(m.Name).IsValid() {
			return fmt.Errorf("invalid label name %q", m.Name)
		}
		if !m.Matches("") {
			allEmpty = false
		}
	}
	if allEmpty {
		return errors.New("at least one matcher must not match the empty string")
	}
	if s.StartsAt.IsZero() {
		return errors.New("invalid zero start timestamp")
	}
	if s.EndsAt.IsZero() {
		return errors.New("invalid zero end timestamp")
	}
	if s.EndsAt.Before(s.StartsAt) {
		return errors.New("end time must not be before start time")
	}
	return nil
}

// silences holds every silence, expired ones until their retention ends,
// and writes through to the state store.
type silences struct {
	// writeMu serialises changes (set, expire, gc), held across the state
	// store write; mu guards byID only for as long as it takes to read or
	// swap an entry, so the flushes of every aggregation group, which check
	// silences under mu, never wait for a disk write.
	writeMu   sync.Mutex
	mu        sync.RWMutex
	byID      map[string]*Silence
	state     StateStore // nil: in memory only
	retention time.Duration
}

const silenceBucket = "silences"

// storedMatcher is a matcher as persisted.
type storedMatcher struct {
	Type  labels.MatchType `json:"type"`
	Name  string           `json:"name"`
	Value string           `json:"value"`
}

type storedSilence struct {
	ID        string          `json:"id"`
	Matchers  []storedMatcher `json:"matchers"`
	StartsAt  time.Time       `json:"startsAt"`
	EndsAt    time.Time       `json:"endsAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
	CreatedBy string          `json:"createdBy"`
	Comment   string          `json:"comment"`
}

func encodeSilence(s *Silence) ([]byte, error) {
	st := storedSilence{ID: s.ID, StartsAt: s.StartsAt, EndsAt: s.EndsAt, UpdatedAt: s.UpdatedAt, CreatedBy: s.CreatedBy, Comment: s.Comment}
	for _, m := range s.Matchers {
		st.Matchers = append(st.Matchers, storedMatcher{Type: m.Type, Name: m.Name, Value: m.Value})
	}
	return json.Marshal(st)
}

func decodeSilence(b []byte) (*Silence, error) {
	var st storedSilence
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	s := &Silence{ID: st.ID, StartsAt: st.StartsAt, EndsAt: st.EndsAt, UpdatedAt: st.UpdatedAt, CreatedBy: st.CreatedBy, Comment: st.Comment}
	for _, m := range st.Matchers {
		lm, err := labels.NewMatcher(m.Type, m.Name, m.Value)
		if err != nil {
			return nil, fmt.Errorf("matcher %s: %w", m.Name, err)
		}
		s.Matchers = append(s.Matchers, lm)
	}
	if s.ID == "" {
		return nil, errors.New("silence without ID")
	}
	return s, nil
}

func newSilences(ctx context.Context, state StateStore, retention time.Duration) (*silences, error) {
	s := &silences{byID: map[string]*Silence{}, state: state, retention: retention}
	if state == nil {
		return s, nil
	}
	recs, err := state.List(ctx, silenceBucket)
	if err != nil {
		return nil, fmt.Errorf("load silences: %w", err)
	}
	for _, r := range recs {
		sil, err := decodeSilence(r.Value)
		if err != nil {
			// One bad row must not lose every other silence.
			continue
		}
		s.byID[sil.ID] = sil
	}
	return s, nil
}

func (s *silences) persist(ctx context.Context, sil *Silence) error {
	if s.state == nil {
		return nil
	}
	b, err := encodeSilence(sil)
	if err != nil {
		return fmt.Errorf("encode silence %s: %w", sil.ID, err)
	}
	return s.state.Put(ctx, silenceBucket, sil.ID, b, sil.EndsAt.Add(s.retention))
}

// canUpdate reports whether prev may be changed into next in place, as
// Alertmanager decides: same matchers, and only timestamp changes that do
// not rewrite the past.
func canUpdate(prev, next *Silence, now time.Time) bool {
	if prev.Matchers.String() != next.Matchers.String() {
		return false
	}
	switch prev.State(now) {
	case SilenceStateActive:
		// Whole seconds, as Alertmanager compares: the API writes times
		// with milliseconds, so a client sending back the start it was
		// given (amtool's update, the UI's edit) must still match.
		return next.StartsAt.Unix() == prev.StartsAt.Unix() && !next.EndsAt.Before(now)
	case SilenceStatePending:
		return !next.StartsAt.Before(now)
	}
	return false
}

// set creates or updates a silence and returns its ID. A silence that
// cannot be updated in place (other matchers, or expired) is replaced:
// the old one expires and the new one gets a new ID; expired is the ID of
// the silence this call expired, if any (also when it fails after that).
func (s *silences) set(ctx context.Context, sil Silence, now time.Time) (id, expired string, err error) {
	if err := sil.Validate(); err != nil {
		return "", "", err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var prev *Silence
	if sil.ID != "" {
		var ok bool
		s.mu.RLock()
		prev, ok = s.byID[sil.ID]
		s.mu.RUnlock()
		if !ok {
			return "", "", ErrSilenceNotFound
		}
		if canUpdate(prev, &sil, now) {
			sil.UpdatedAt = now
			if err := s.persist(ctx, &sil); err != nil {
				return "", "", err
			}
			s.store(&sil)
			return sil.ID, "", nil
		}
	}
	sil.ID = newUUID()
	if sil.StartsAt.Before(now) {
		sil.StartsAt = now
	}
	// Checked before the old silence expires, so that a refused
	// replacement leaves it as it was.
	if sil.EndsAt.Before(sil.StartsAt) {
		return "", "", errors.New("end time must not be before start time")
	}
	if prev != nil && prev.State(now) != SilenceStateExpired {
		if err := s.expireLocked(ctx, prev, now); err != nil {
			return "", "", err
		}
		expired = prev.ID
	}
	sil.UpdatedAt = now
	if err := s.persist(ctx, &sil); err != nil {
		return "", expired, err
	}
	s.store(&sil)
	return sil.ID, expired, nil
}

// reload merges what other argus instances sharing the state store
// (PostgreSQL) wrote: silences this one does not know, and newer
// versions of those it does. It returns how many it took.
func (s *silences) reload(ctx context.Context) (int, error) {
	if s.state == nil {
		return 0, nil
	}
	recs, err := s.state.List(ctx, silenceBucket)
	if err != nil {
		return 0, fmt.Errorf("reload silences: %w", err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	n := 0
	for _, r := range recs {
		sil, err := decodeSilence(r.Value)
		if err != nil {
			continue
		}
		s.mu.RLock()
		cur, ok := s.byID[sil.ID]
		s.mu.RUnlock()
		if !ok || sil.UpdatedAt.After(cur.UpdatedAt) {
			s.store(sil)
			n++
		}
	}
	return n, nil
}

// store puts a silence in the map; the caller holds writeMu.
func (s *silences) store(sil *Silence) {
	s.mu.Lock()
	s.byID[sil.ID] = sil
	s.mu.Unlock()
}

// expire ends a silence now.
func (s *silences) expire(ctx context.Context, id string, now time.Time) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	sil, ok := s.byID[id]
	s.mu.RUnlock()
	if !ok {
		return ErrSilenceNotFound
	}
	if sil.State(now) == SilenceStateExpired {
		return ErrSilenceExpired
	}
	return s.expireLocked(ctx, sil, now)
}

// expireLocked ends sil now; the caller holds writeMu.
func (s *silences) expireLocked(ctx context.Context, sil *Silence, now time.Time) error {
	next := *sil
	if next.State(now) == SilenceStatePending {
		next.StartsAt = now
	}
	next.EndsAt = now
	next.UpdatedAt = now
	if err := s.persist(ctx, &next); err != nil {
		return err
	}
	s.store(&next)
	return nil
}

func (s *silences) get(id string) (Silence, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sil, ok := s.byID[id]
	if !ok {
		return Silence{}, false
	}
	return *sil, true
}

// list returns every silence.
func (s *silences) list() []Silence {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Silence, 0, len(s.byID))
	for _, sil := range s.byID {
		out = append(out, *sil)
	}
	return out
}

// mutes returns the IDs of the active silences matching lset, sorted.
func (s *silences) mutes(lset model.LabelSet, now time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for id, sil := range s.byID {
		if sil.State(now) == SilenceStateActive && sil.Matchers.Matches(lset) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// gc forgets the silences whose retention has ended; the state store
// deletes its rows by their expiry.
func (s *silences) gc(now time.Time) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sil := range s.byID {
		if sil.EndsAt.Add(s.retention).Before(now) {
			delete(s.byID, id)
		}
	}
}

// count returns the number of silences by state.
func (s *silences) count(now time.Time) map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]int{SilenceStateActive: 0, SilenceStatePending: 0, SilenceStateExpired: 0}
	for _, sil := range s.byID {
		out[sil.State(now)]++
	}
	return out
}

// newUUID returns a random (version 4) UUID, the form of Alertmanager's
// silence IDs.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
