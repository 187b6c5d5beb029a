package alertmanager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/notify"
)

// nflog is the notification log: for each (receiver integration, group)
// the alerts last notified as firing and as resolved, and when. It is what
// makes repeat_interval work and keeps a restart from notifying again.
type nflog struct {
	mu        sync.RWMutex
	entries   map[string]*nflogEntry
	state     StateStore
	retention time.Duration
}

const nflogBucket = "nflog"

type nflogEntry struct {
	Firing    []uint64  `json:"firing"`
	Resolved  []uint64  `json:"resolved"`
	Timestamp time.Time `json:"timestamp"`
}

// nflogKey identifies an integration of a receiver and a group. The group
// key is hashed so that keys stay short whatever the group labels.
func nflogKey(receiver, integration string, idx int, groupKey string) string {
	h := sha256.Sum256([]byte(groupKey))
	return receiver + "/" + integration + "/" + strconv.Itoa(idx) + "/" + hex.EncodeToString(h[:16])
}

func newNflog(ctx context.Context, state StateStore, retention time.Duration) (*nflog, error) {
	l := &nflog{entries: map[string]*nflogEntry{}, state: state, retention: retention}
	if state == nil {
		return l, nil
	}
	recs, err := state.List(ctx, nflogBucket)
	if err != nil {
		return nil, fmt.Errorf("load notification log: %w", err)
	}
	for _, r := range recs {
		var e nflogEntry
		if json.Unmarshal(r.Value, &e) == nil {
			l.entries[r.Key] = &e
		}
	}
	return l, nil
}

func (l *nflog) get(key string) *nflogEntry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.entries[key]
}

// log records a notification: in memory always, since it was sent, and in
// the state store so that a restart does not repeat it. A failed write is
// returned, but the entry still counts: otherwise every later flush would
// send the same notification again.
func (l *nflog) log(ctx context.Context, key string, firing, resolved []uint64, now time.Time) error {
	e := &nflogEntry{Firing: firing, Resolved: resolved, Timestamp: now}
	l.mu.Lock()
	l.entries[key] = e
	l.mu.Unlock()
	if l.state != nil {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode notification log entry: %w", err)
		}
		if err := l.state.Put(ctx, nflogBucket, key, b, now.Add(l.retention)); err != nil {
			return fmt.Errorf("persist notification log entry: %w", err)
		}
	}
	return nil
}

// gc forgets entries older than the retention.
func (l *nflog) gc(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, e := range l.entries {
		if e.Timestamp.Add(l.retention).Before(now) {
			delete(l.entries, k)
		}
	}
}

// needsUpdate decides whether a group must be notified, with
// Alertmanager's rules: new firing alerts always; only resolved alerts
// when something was notified firing before (whatever send_resolved, so
// that the log forgets them); newly resolved ones with send_resolved; and
// otherwise once repeat has passed since the last notification.
func needsUpdate(e *nflogEntry, firing, resolved map[uint64]struct{}, sendResolved bool, repeat time.Duration, now time.Time) notify.NotifyReason {
	if e == nil {
		if len(firing) > 0 {
			return notify.ReasonFirstNotification
		}
		return notify.ReasonDoNotNotify
	}
	if !subset(firing, e.Firing) {
		return notify.ReasonNewAlertsInGroup
	}
	if len(firing) == 0 {
		if len(e.Firing) > 0 {
			return notify.ReasonAllAlertsResolved
		}
		return notify.ReasonDoNotNotify
	}
	if sendResolved && !subset(resolved, e.Resolved) {
		return notify.ReasonNewResolvedAlerts
	}
	if e.Timestamp.Before(now.Add(-repeat)) {
		return notify.ReasonRepeatIntervalElapsed
	}
	return notify.ReasonDoNotNotify
}

// subset reports whether every element of sub is in set.
func subset(sub map[uint64]struct{}, set []uint64) bool {
	if len(sub) > len(set) {
		return false
	}
	in := make(map[uint64]struct{}, len(set))
	for _, h := range set {
		in[h] = struct{}{}
	}
	for h := range sub {
		if _, ok := in[h]; !ok {
			return false
		}
	}
	return true
}
