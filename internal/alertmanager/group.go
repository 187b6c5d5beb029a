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
type dispatcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	notify notifyFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	groups map[groupID]*group
	onSize func(n int) // reports the number of groups
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
}

func newDispatcher(parent context.Context, nf notifyFunc, onSize func(int)) *dispatcher {
	ctx, cancel := context.WithCancel(parent)
	return &dispatcher{ctx: ctx, cancel: cancel, notify: nf, groups: map[groupID]*group{}, onSize: onSize}
}

// insert puts a into the group of r it belongs to, creating the group (and
// starting its timer) if needed.
func (d *dispatcher) insert(a *alert.Alert, r *route, now time.Time) {
	gl := r.groupLabels(a.Labels)
	id := groupID{route: r.idx, fp: gl.Fingerprint()}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
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
		}
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
			if d.onSize != nil {
				d.onSize(len(d.groups))
			}
		}
	}
}

// stop cancels every group and waits for their goroutines.
func (d *dispatcher) stop() {
	d.mu.Lock()
	d.cancel()
	d.mu.Unlock()
	d.wg.Wait()
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
