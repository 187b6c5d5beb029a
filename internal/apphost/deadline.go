package apphost

import "time"

// lazyDeadline is a connection's deadline, set again only when the one
// already set no longer does. Each request of a kept-alive connection
// wants a deadline some fixed time from its start (the idle timeout
// before the next request, the request timeout on a worker connection);
// setting it is a clock read and a timer change under a lock in the
// runtime, and at thousands of requests a second on one connection all
// but about one a second are needless. A deadline set here fires late
// by at most its slack (see deadlineSlack), never early.
//
// Only the goroutine serving the connection uses it; whoever sets the
// connection's deadline another way must call forget (or set) so that
// the next want sets it again.
type lazyDeadline struct {
	at    time.Time // the deadline set; zero for none
	known bool      // at is what the connection has
}

// deadlineSlack is how late a lazily set deadline may fire for a
// timeout: a sixteenth of it, at most a second.
func deadlineSlack(timeout time.Duration) time.Duration {
	return min(timeout/16, time.Second)
}

// want returns the deadline to set for a timeout counted from now, and
// false if the one set already lies between now+timeout and its slack
// later. A zero timeout wants no deadline.
func (d *lazyDeadline) want(now time.Time, timeout time.Duration) (time.Time, bool) {
	if timeout <= 0 {
		if d.known && d.at.IsZero() {
			return time.Time{}, false
		}
		return time.Time{}, true
	}
	earliest := now.Add(timeout)
	latest := earliest.Add(deadlineSlack(timeout))
	if d.known && !d.at.IsZero() && !d.at.Before(earliest) && !d.at.After(latest) {
		return time.Time{}, false
	}
	return latest, true
}

// set records that the connection's deadline is t.
func (d *lazyDeadline) set(t time.Time) { d.at, d.known = t, true }

// forget records that the connection's deadline is not known.
func (d *lazyDeadline) forget() { d.known = false }
