package alertmanager

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/common/model"
)

// Retry backoff between attempts of one notification, Alertmanager's
// (cenkalti/backoff's defaults): 0.5s growing by 1.5 up to 1m, ±50%.
const (
	retryInitial = 500 * time.Millisecond
	retryMax     = time.Minute
)

// notifyGroup is the dispatcher's notifyFunc: the pipeline a flush goes
// through. Time intervals first (a muted route sends nothing and counts as
// done), then inhibited and silenced alerts are left out, then every
// integration of the receiver is notified in parallel, each deduplicated
// against the notification log and retried until the flush's deadline.
func (m *Manager) notifyGroup(ctx context.Context, gen *generation, g *group, tick time.Time, alerts []*alert.Alert) bool {
	r := g.route
	if len(r.activeInterval) > 0 {
		if in, err := gen.intervals.ContainsTime(r.activeInterval, tick); err != nil || !in {
			return true
		}
	}
	if len(r.muteIntervals) > 0 {
		if in, err := gen.intervals.ContainsTime(r.muteIntervals, tick); err == nil && in {
			return true
		}
	}
	now := time.Now()
	kept := alerts[:0:0]
	for _, a := range alerts {
		if len(gen.inhibitor.mutes(a.Labels, now)) > 0 || len(m.silences.mutes(a.Labels, now)) > 0 {
			continue
		}
		kept = append(kept, a)
	}
	if len(kept) == 0 {
		return true
	}
	integrations := gen.receivers[r.receiver]
	if len(integrations) == 0 {
		return true
	}
	ctx = notify.WithGroupKey(ctx, g.key)
	ctx = notify.WithGroupLabels(ctx, g.labels)
	ctx = notify.WithRouteLabels(ctx, r.labels)
	ctx = notify.WithReceiverName(ctx, r.receiver)
	ctx = notify.WithRepeatInterval(ctx, r.repeatInterval)
	ctx = notify.WithNow(ctx, tick)
	ctx = notify.WithMuteTimeIntervals(ctx, r.muteIntervals)
	ctx = notify.WithActiveTimeIntervals(ctx, r.activeInterval)

	firing, resolved := []uint64{}, []uint64{}
	for _, a := range kept {
		if a.ResolvedAt(tick) {
			resolved = append(resolved, hashAlert(a))
		} else {
			firing = append(firing, hashAlert(a))
		}
	}
	ctx = notify.WithFiringAlerts(ctx, firing)
	ctx = notify.WithResolvedAlerts(ctx, resolved)

	if len(integrations) == 1 {
		return m.notifyIntegration(ctx, g, &integrations[0], tick, kept, firing, resolved)
	}
	var wg sync.WaitGroup
	ok := make([]bool, len(integrations))
	for i := range integrations {
		wg.Go(func() { ok[i] = m.notifyIntegration(ctx, g, &integrations[i], tick, kept, firing, resolved) })
	}
	wg.Wait()
	for _, o := range ok {
		if !o {
			return false
		}
	}
	return true
}

// hashAlert identifies an alert in the notification log.
func hashAlert(a *alert.Alert) uint64 { return uint64(a.Fingerprint()) }

func toSet(hs []uint64) map[uint64]struct{} {
	s := make(map[uint64]struct{}, len(hs))
	for _, h := range hs {
		s[h] = struct{}{}
	}
	return s
}

// notifyIntegration sends alerts to one integration unless the
// notification log says it already has them, retrying recoverable
// failures with backoff until ctx ends.
func (m *Manager) notifyIntegration(ctx context.Context, g *group, in *notify.Integration, tick time.Time, alerts []*alert.Alert, firing, resolved []uint64) bool {
	receiver := g.route.receiver
	key := nflogKey(receiver, in.Name(), in.Index(), g.key)
	reason := needsUpdate(m.nflog.get(key), toSet(firing), toSet(resolved), in.SendResolved(), g.route.repeatInterval, tick)
	if reason == notify.ReasonDoNotNotify {
		return true
	}
	ctx = notify.WithNotificationReason(ctx, reason)
	sent := alerts
	if !in.SendResolved() {
		sent = make([]*alert.Alert, 0, len(alerts))
		for _, a := range alerts {
			if !a.ResolvedAt(tick) {
				sent = append(sent, a)
			}
		}
	}
	// With only resolved alerts and no send_resolved there is nothing to
	// send, but the log must still learn that they resolved.
	if len(sent) > 0 && !m.sendWithRetries(ctx, g, in, sent, reason) {
		return false
	}
	// The log is written even if the flush was cancelled meanwhile (a
	// shutdown): the receiver has the notification.
	if err := m.nflog.log(context.WithoutCancel(ctx), key, firing, resolved, tick); err != nil {
		m.logger.Error("Notification log write failed; the notification may be repeated after a restart", "receiver", receiver, "integration", in.String(), "err", err)
	}
	return true
}

func (m *Manager) sendWithRetries(ctx context.Context, g *group, in *notify.Integration, alerts []*alert.Alert, reason notify.NotifyReason) bool {
	receiver := g.route.receiver
	m.metrics.notifications.WithLabelValues(in.Name(), receiver).Inc()
	wait := retryInitial
	for attempt := 1; ; attempt++ {
		start := time.Now()
		v := in.Notify(ctx, alerts...)
		took := time.Since(start)
		m.metrics.requests.WithLabelValues(in.Name(), receiver).Inc()
		m.metrics.latency.WithLabelValues(in.Name()).Observe(took.Seconds())
		m.recordNotification(g, in, alerts, reason, attempt, took, v.Err())
		if v.Err() == nil {
			return true
		}
		m.metrics.requestsFailed.WithLabelValues(in.Name(), receiver).Inc()
		if !v.ShouldRetry() {
			m.metrics.failed.WithLabelValues(in.Name(), receiver, v.Reason().String()).Inc()
			m.logger.Error("Notify failed, not retrying", "receiver", receiver, "integration", in.String(), "group", g.key, "attempt", attempt, "err", v.Err())
			return false
		}
		d := max(v.Delay(), jitter(wait))
		wait = min(wait*3/2, retryMax)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			m.metrics.failed.WithLabelValues(in.Name(), receiver, v.Reason().String()).Inc()
			m.logger.Error("Notify failed, giving up until the next flush", "receiver", receiver, "integration", in.String(), "group", g.key, "attempts", attempt, "err", v.Err())
			return false
		case <-g.drain:
			// The configuration was replaced: the new one's group retries
			// when it flushes (the notification log has no entry for this).
			t.Stop()
			m.logger.Warn("Notify failed, retrying under the new configuration", "receiver", receiver, "integration", in.String(), "group", g.key, "attempts", attempt, "err", v.Err())
			return false
		case <-t.C:
		}
	}
}

// jitter spreads d by ±50%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// recordNotification adds a notification attempt to the history.
func (m *Manager) recordNotification(g *group, in *notify.Integration, alerts []*alert.Alert, reason notify.NotifyReason, attempt int, took time.Duration, err error) {
	if m.history == nil {
		return
	}
	n := NotificationEvent{
		GroupKey:    g.key,
		GroupLabels: g.labels,
		Integration: in.Name(),
		Index:       in.Index(),
		Reason:      reason.String(),
		Attempt:     attempt,
		Duration:    took.Seconds(),
		Success:     err == nil,
	}
	if err != nil {
		n.Error = err.Error()
	}
	for _, a := range alerts {
		if a.ResolvedAt(time.Now()) {
			n.Resolved++
		} else {
			n.Firing++
		}
		if len(n.Fingerprints) < maxEventFingerprints {
			n.Fingerprints = append(n.Fingerprints, a.Fingerprint().String())
		}
	}
	m.history.add(Event{Time: time.Now(), Kind: EventNotification, Receiver: g.route.receiver, Notification: &n})
}

// errNoRoute is returned by TestRoute for labels no route takes (which
// cannot happen with a valid tree, whose root takes everything).
var errNoRoute = errors.New("no route matches")

// Routes returns the receivers, route IDs and group labels an alert with
// lset would be routed to, as amtool's `config routes test` shows.
func (m *Manager) Routes(lset model.LabelSet) ([]RouteMatch, error) {
	gen := m.generation()
	rs := gen.root.match(lset)
	if len(rs) == 0 {
		return nil, errNoRoute
	}
	out := make([]RouteMatch, len(rs))
	for i, r := range rs {
		out[i] = RouteMatch{Receiver: r.receiver, RouteID: r.id, GroupLabels: r.groupLabels(lset)}
	}
	return out, nil
}

// RouteMatch is one route an alert goes to.
type RouteMatch struct {
	Receiver    string
	RouteID     string
	GroupLabels model.LabelSet
}
