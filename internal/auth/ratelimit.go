package auth

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (a user name or a client address)
// in fixed windows and refuses a key that reached its limit until its
// window ends. It holds at most maxKeys keys, forgetting the oldest
// windows first, so that a flood of names cannot grow it without bound.
type limiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	maxKeys int
	keys    map[string]*failures
}

type failures struct {
	n     int
	start time.Time
}

func newLimiter(limit int, window time.Duration) *limiter {
	return &limiter{limit: limit, window: window, maxKeys: 10000, keys: map[string]*failures{}}
}

// blocked returns how long key must wait, or 0 if it may try.
func (l *limiter) blocked(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if !ok {
		return 0
	}
	end := f.start.Add(l.window)
	if !now.Before(end) {
		delete(l.keys, key)
		return 0
	}
	if f.n < l.limit {
		return 0
	}
	return end.Sub(now)
}

// fail records a failure of key.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if !ok || !now.Before(f.start.Add(l.window)) {
		if len(l.keys) >= l.maxKeys {
			l.evict(now)
		}
		f = &failures{start: now}
		l.keys[key] = f
	}
	f.n++
}

// reset forgets key's failures, after a success.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// evict drops the windows that ended, or if none did, the oldest one.
func (l *limiter) evict(now time.Time) {
	var oldest string
	var oldestStart time.Time
	for k, f := range l.keys {
		if !now.Before(f.start.Add(l.window)) {
			delete(l.keys, k)
			continue
		}
		if oldest == "" || f.start.Before(oldestStart) {
			oldest, oldestStart = k, f.start
		}
	}
	if len(l.keys) >= l.maxKeys {
		delete(l.keys, oldest)
	}
}
