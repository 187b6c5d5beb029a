package probe

import (
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"
)

// round is the times of one request of a probe, the first or a redirect.
type round struct {
	start, dnsStart, dnsDone, connected, tlsStart, tlsDone, firstByte, end time.Time
}

// timings records the rounds of an http probe. Its hooks run on the
// transport's goroutines, hence the lock.
type timings struct {
	mu     sync.Mutex
	rounds []*round
}

// next starts a round: the first request, or a redirect's.
func (t *timings) next() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if n := len(t.rounds); n > 0 && t.rounds[n-1].end.IsZero() {
		t.rounds[n-1].end = now
	}
	t.rounds = append(t.rounds, &round{start: now})
}

// end ends the last round, once its body is read.
func (t *timings) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.rounds); n > 0 {
		t.rounds[n-1].end = time.Now()
	}
}

// set records a time of the current round.
func (t *timings) set(f func(r *round, now time.Time)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.rounds); n > 0 {
		f(t.rounds[n-1], time.Now())
	}
}

func (t *timings) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { t.set(func(r *round, now time.Time) { r.dnsStart = now }) },
		DNSDone:  func(httptrace.DNSDoneInfo) { t.set(func(r *round, now time.Time) { r.dnsDone = now }) },
		ConnectDone: func(string, string, error) {
			t.set(func(r *round, now time.Time) { r.connected = now })
		},
		TLSHandshakeStart: func() { t.set(func(r *round, now time.Time) { r.tlsStart = now }) },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			t.set(func(r *round, now time.Time) { r.tlsDone = now })
		},
		GotFirstResponseByte: func() { t.set(func(r *round, now time.Time) { r.firstByte = now }) },
	}
}

// phases adds the rounds' durations to d, by phase: resolve (lookups of
// redirect hosts; the probe adds its own), connect (from the lookup's end,
// or the round's start, to the connection), tls (the handshake),
// processing (from the connection, or the handshake, to the first byte
// of the answer) and transfer (from it to the end of the body). A phase
// a round did not reach adds nothing.
func (t *timings) phases(d [5]time.Duration) [5]time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	span := func(from, to time.Time) time.Duration {
		if from.IsZero() || to.IsZero() || to.Before(from) {
			return 0
		}
		return to.Sub(from)
	}
	for _, r := range t.rounds {
		d[0] += span(r.dnsStart, r.dnsDone)
		connFrom := r.start
		if !r.dnsDone.IsZero() {
			connFrom = r.dnsDone
		}
		d[1] += span(connFrom, r.connected)
		d[2] += span(r.tlsStart, r.tlsDone)
		procFrom := r.connected
		if !r.tlsDone.IsZero() {
			procFrom = r.tlsDone
		}
		d[3] += span(procFrom, r.firstByte)
		d[4] += span(r.firstByte, r.end)
	}
	return d
}
