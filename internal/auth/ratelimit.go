package auth

import (
	"sync"
	"time"
)

// limiter counts login attempts per key (a user name, a client address,
// or both) in fixed windows and refuses a key that reached its limit
// until its window ends. An attempt is counted before its password is
// checked (take), so that guesses sent at once cannot all get through
// while the first ones are being checked; one that succeeds is given
// back (undo). It holds at most maxKeys keys, forgetting the oldest
// windows first, so that a flood of names cannot grow it without bound.
type limiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	maxKeys int
	keys    map[string]*attempts
}

type attempts struct {
	n     int
	start time.Time
}

func newLimiter(limit int, window time.Duration) *limiter {
	return &limiter{limit: limit, window: window, maxKeys: 10000, keys: map[string]*attempts{}}
}

// take counts an attempt of key and returns 0, or, counting nothing, how
// long key must wait.
func (l *limiter) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.keys[key]
	if !ok || !now.Before(a.start.Add(l.window)) {
		if len(l.keys) >= l.maxKeys {
			l.evict(now)
		}
		a = &attempts{start: now}
		l.keys[key] = a
	}
	if a.n >= l.limit {
		return a.start.Add(l.window).Sub(now)
	}
	a.n++
	return 0
}

// undo gives back an attempt of key that succeeded.
func (l *limiter) undo(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.keys[key]; ok && a.n > 0 {
		a.n--
	}
}

// evict drops the windows that ended, or if none did, the oldest one.
func (l *limiter) evict(now time.Time) {
	var oldest string
	var oldestStart time.Time
	for k, a := range l.keys {
		if !now.Before(a.start.Add(l.window)) {
			delete(l.keys, k)
			continue
		}
		if oldest == "" || a.start.Before(oldestStart) {
			oldest, oldestStart = k, a.start
		}
	}
	if len(l.keys) >= l.maxKeys {
		delete(l.keys, oldest)
	}
}
