package alertmanager

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/common/model"
)

// minNotifyTimeout is the least time a flush's notifications get before
// they are cancelled, as Alertmanager's notify.MinTimeout.
const minNotifyTimeout = 10 * time.Second

// notifyFunc sends a group's alerts; it reports whether every receiver
// integration got them (or did not need them).
type notifyFunc func(ctx context.Context, g *group, now time.Time, alerts []*alert.Alert) bool

// dispatcher holds the aggregation groups of one routing tree.
//
// When a configuration replaces another, both dispatchers live for a
// while: the old one drains (no new flushes, no retries, notifications
// under way finish) and the new one takes alerts at once but flushes only
// once the old one has stopped, so that the notification log already
// holds what the old one sent.
type dispatcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	notify notifyFunc
	wg     sync.WaitGroup
	// ready is closed when the groups may flush: at once for the first
	// dispatcher, once the one it replaces has stopped for later ones.
	ready chan struct{}
	// drain is closed by stop: groups flush no more, and notifications
	// under way are not retried.
	drain chan struct{}

	mu      sync.Mutex
	groups  map[groupID]*group
	stopped bool        // drain is closed; insert adds nothing
	onSize  func(n int) // reports the number of groups
}

type groupID struct {
	route int // route.idx
	fp    model.Fingerprint
}

// group is an aggregation group: the alerts of one route with the same
// values of the group_by labels, notified together.
type group struct {
	route  *route
	labels model.LabelSet
	key    string
	id     groupID

	mu        sync.Mutex
	alerts    map[model.Fingerprint]*alert.Alert
	destroyed bool

	timer  *time.Timer
	ctx    context.Context
	cancel context.CancelFunc
	drain  <-chan struct{} // the dispatcher's: closed when it stops
}

// newDispatcher returns a dispatcher whose groups do not flush until
// start is called.
func newDispatcher(parent context.Context, nf notifyFunc, onSize func(int)) *dispatcher {
	ctx, cancel := context.WithCancel(parent)
	return &dispatcher{
		ctx: ctx, cancel: cancel, notify: nf,
		ready: make(chan struct{}), drain: make(chan struct{}),
		groups: map[groupID]*group{}, onSize: onSize,
	}
}

// start lets the groups flush. It is called once.
func (d *dispatcher) start() { close(d.ready) }

// groupKey is the group an alert goes to on one of its routes.
type groupKey struct {
	route  *route
	labels model.LabelSet
	id     groupID
}

// groupsOf returns the groups of an alert with lset on routes.
func groupsOf(lset model.LabelSet, routes []*route) []groupKey {
	out := make([]groupKey, len(routes))
	for i, r := range routes {
		gl := r.groupLabels(lset)
		out[i] = groupKey{route: r, labels: gl, id: groupID{route: r.idx, fp: gl.Fingerprint()}}
	}
	return out
}

// checkRoom returns a *limitError if the groups of keys that do not exist
// yet would take the dispatcher past max groups. It is a check, not a
// reservation: alerts put at the same time may each pass it, so the
// number of groups may exceed max by that many.
func (d *dispatcher) checkRoom(keys []groupKey, max int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.groups)
	for _, k := range keys {
		if _, ok := d.groups[k.id]; !ok {
			n++
		}
	}
	if n > max {
		return &limitError{kind: limitGroups, msg: fmt.Sprintf("%d aggregation groups of at most %d, and the alert needs %d more", len(d.groups), max, n-len(d.groups))}
	}
	return nil
}

// insert puts a into the group k, creating the group (and starting its
// timer) if needed.
func (d *dispatcher) insert(a *alert.Alert, k groupKey, now time.Time) {
	r, gl, id := k.route, k.labels, k.id
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped || d.ctx.Err() != nil {
		return
	}
	if g, ok := d.groups[id]; ok {
		g.mu.Lock()
		g.alerts[a.Fingerprint()] = a
		g.mu.Unlock()
		return
	}
	g := &group{
		route:  r,
		labels: gl,
		key:    fmt.Sprintf("%s:%s", r.key, gl),
		id:     id,
		alerts: map[model.Fingerprint]*alert.Alert{a.Fingerprint(): a},
		drain:  d.drain,
	}
	g.ctx, g.cancel = context.WithCancel(d.ctx)
	// The first notification waits group_wait for more alerts to arrive,
	// unless the first alert started that long ago already.
	wait := r.groupWait
	if a.StartsAt.Add(r.groupWait).Before(now) {
		wait = 0
	}
	g.timer = time.NewTimer(wait)
	d.groups[id] = g
	if d.onSize != nil {
		d.onSize(len(d.groups))
	}
	d.wg.Add(1)
	go d.run(g)
}

// run flushes g each time its timer fires: after group_wait first, then
// every group_interval, until g is empty after a notification or the
// dispatcher stops.
func (d *dispatcher) run(g *group) {
	defer d.wg.Done()
	defer g.timer.Stop()
	// Released when the group ends, or its context stays registered with
	// the dispatcher's for as long as the dispatcher lives.
	defer g.cancel()
	for {
		select {
		case now := <-g.timer.C:
			if !d.waitReady(g) {
				return
			}
			// The notifications of a flush may take until the next one.
			ctx, cancel := context.WithTimeout(g.ctx, max(g.route.groupInterval, minNotifyTimeout))
			g.timer.Reset(g.route.groupInterval)
			d.flush(ctx, g, now)
			cancel()
			g.mu.Lock()
			done := g.destroyed
			g.mu.Unlock()
			if done {
				return
			}
		case <-g.ctx.Done():
			return
		case <-d.drain:
			return
		}
	}
}

// waitReady waits until g may flush, and reports false if the dispatcher
// or the group stops first.
func (d *dispatcher) waitReady(g *group) bool {
	select {
	case <-d.ready:
	case <-d.drain:
	case <-g.ctx.Done():
	}
	// A select picks at random among ready cases: stopping wins here.
	select {
	case <-d.drain:
		return false
	case <-g.ctx.Done():
		return false
	default:
		return true
	}
}

// flush notifies g's alerts and, if that succeeded, drops the resolved
// ones that did not change meanwhile; an empty group is removed.
func (d *dispatcher) flush(ctx context.Context, g *group, tick time.Time) {
	now := time.Now()
	g.mu.Lock()
	alerts := make(alert.AlertSlice, 0, len(g.alerts))
	var resolved []*alert.Alert
	for _, a := range g.alerts {
		c := *a
		// An alert notified as firing must not turn resolved between now
		// and when the receiver renders it.
		if c.ResolvedAt(now) {
			resolved = append(resolved, &c)
		} else {
			c.EndsAt = time.Time{}
		}
		alerts = append(alerts, &c)
	}
	g.mu.Unlock()
	if len(alerts) == 0 {
		return
	}
	sort.Stable(alerts)
	if !d.notify(ctx, g, tick, alerts) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, a := range resolved {
		if cur, ok := g.alerts[a.Fingerprint()]; ok && cur.UpdatedAt.Equal(a.UpdatedAt) {
			delete(g.alerts, a.Fingerprint())
		}
	}
	if len(g.alerts) == 0 && !g.destroyed {
		g.destroyed = true
		if d.groups[g.id] == g {
			delete(d.groups, g.id)
			if d.onSize != nil && !d.stopped {
				d.onSize(len(d.groups))
			}
		}
	}
}

// stopAbandonAfter is how long stop waits for groups after cancelling
// them. The email integration, for one, does not watch its context once
// connected, so a server that stops answering holds its group until the
// connection breaks.
const stopAbandonAfter = 5 * time.Second

// stop ends the dispatcher. Groups flush no more and do not retry failed
// notifications; those under way get grace to finish (their log entries
// tell the next dispatcher what was sent), then are cancelled. stop
// returns when every group's goroutine has ended and reports true, or, if
// some are still stuck in an integration stopAbandonAfter after the
// cancellation, gives up on them and reports false.
func (d *dispatcher) stop(grace time.Duration) bool {
	d.mu.Lock()
	if !d.stopped {
		d.stopped = true
		close(d.drain)
	}
	d.mu.Unlock()
	// Ends with the last group, also one stop gave up on.
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	if grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	d.cancel()
	t := time.NewTimer(stopAbandonAfter)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// snapshot returns the groups with a copy of their alerts.
func (d *dispatcher) snapshot() []groupSnapshot {
	d.mu.Lock()
	gs := make([]*group, 0, len(d.groups))
	for _, g := range d.groups {
		gs = append(gs, g)
	}
	d.mu.Unlock()
	out := make([]groupSnapshot, 0, len(gs))
	for _, g := range gs {
		g.mu.Lock()
		s := groupSnapshot{Labels: g.labels, Receiver: g.route.receiver, Key: g.key, RouteID: g.route.id}
		for _, a := range g.alerts {
			s.Alerts = append(s.Alerts, a)
		}
		g.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// groupSnapshot is a group as the API shows it.
type groupSnapshot struct {
	Labels   model.LabelSet
	Receiver string
	Key      string
	RouteID  string
	Alerts   []*alert.Alert
}
