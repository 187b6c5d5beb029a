package apphost

import (
	"testing"
	"time"
)

func TestLazyDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const timeout = 2 * time.Minute
	slack := deadlineSlack(timeout)
	if slack != time.Second {
		t.Fatalf("slack of %v = %v, want 1s", timeout, slack)
	}
	if s := deadlineSlack(160 * time.Millisecond); s != 10*time.Millisecond {
		t.Fatalf("slack of 160ms = %v, want 10ms", s)
	}

	var d lazyDeadline
	at, ok := d.want(t0, timeout)
	if !ok || !at.Equal(t0.Add(timeout+slack)) {
		t.Fatalf("first want = %v, %v; want %v, true", at, ok, t0.Add(timeout+slack))
	}
	d.set(at)
	// Within the slack, the deadline set still gives at least the
	// timeout: nothing to set.
	for _, after := range []time.Duration{0, slack / 2, slack} {
		if _, ok := d.want(t0.Add(after), timeout); ok {
			t.Errorf("%v later: wants a new deadline, the one set still does", after)
		}
	}
	// Past the slack it would fire early: set again, never early.
	now := t0.Add(slack + time.Nanosecond)
	if at, ok := d.want(now, timeout); !ok || at.Before(now.Add(timeout)) {
		t.Errorf("past the slack: want = %v, %v; want a new one no earlier than %v", at, ok, now.Add(timeout))
	}
	// A shorter timeout than the one set would fire late by more than
	// its slack: set.
	if at, ok := d.want(t0, 10*time.Second); !ok || !at.Equal(t0.Add(10*time.Second+deadlineSlack(10*time.Second))) {
		t.Errorf("shorter timeout: want = %v, %v", at, ok)
	}
	// No timeout clears a deadline, once.
	if at, ok := d.want(t0, 0); !ok || !at.IsZero() {
		t.Errorf("no timeout: want = %v, %v; want zero, true", at, ok)
	}
	d.set(time.Time{})
	if _, ok := d.want(t0, 0); ok {
		t.Error("no timeout with none set: wants to set one again")
	}
	if _, ok := d.want(t0, timeout); !ok {
		t.Error("a timeout with none set: nothing to set")
	}
	// A deadline set some other way is not known: set again.
	d.set(t0.Add(timeout + slack))
	d.forget()
	if _, ok := d.want(t0, timeout); !ok {
		t.Error("after forget: nothing to set")
	}
}
