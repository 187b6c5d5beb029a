package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/state"
)

// Kinds of history events.
const (
	// EventAlert is a change of an alert's state: it fired (first or
	// again) or resolved.
	EventAlert = "alert"
	// EventNotification is one attempt to notify a receiver integration.
	EventNotification = "notification"
	// EventSilence is a silence created, updated or expired.
	EventSilence = "silence"
)

// maxEventFingerprints bounds the alerts a notification event lists, so
// that a group of thousands does not write a huge row per attempt.
const maxEventFingerprints = 100

// Event is one entry of the alert history.
type Event struct {
	ID   int64     `json:"id"`
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	// Fingerprint is the alert's, for EventAlert.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Receiver is the receiver notified, for EventNotification.
	Receiver     string             `json:"receiver,omitempty"`
	Alert        *AlertEvent        `json:"alert,omitempty"`
	Notification *NotificationEvent `json:"notification,omitempty"`
	Silence      *SilenceEvent      `json:"silence,omitempty"`
}

// SilenceEvent details an EventSilence.
type SilenceEvent struct {
	// Action is "created", "updated" or "expired".
	Action string `json:"action"`
	ID     string `json:"id"`
	// Replaces is, for "created", the silence whose update this one is
	// (an update that could not be done in place); ReplacedBy is, for
	// "expired", the silence that replaced this one.
	Replaces   string    `json:"replaces,omitempty"`
	ReplacedBy string    `json:"replacedBy,omitempty"`
	Matchers   string    `json:"matchers"`
	StartsAt   time.Time `json:"startsAt"`
	EndsAt     time.Time `json:"endsAt"`
	CreatedBy  string    `json:"createdBy"`
	Comment    string    `json:"comment"`
}

// AlertEvent details an EventAlert.
type AlertEvent struct {
	// State is "firing" or "resolved".
	State       string         `json:"state"`
	Labels      model.LabelSet `json:"labels"`
	Annotations model.LabelSet `json:"annotations,omitempty"`
	StartsAt    time.Time      `json:"startsAt"`
	EndsAt      time.Time      `json:"endsAt"`
}

// NotificationEvent details an EventNotification.
type NotificationEvent struct {
	GroupKey     string         `json:"groupKey"`
	GroupLabels  model.LabelSet `json:"groupLabels"`
	Integration  string         `json:"integration"`
	Index        int            `json:"index"`
	Reason       string         `json:"reason"`
	Attempt      int            `json:"attempt"`
	Duration     float64        `json:"durationSeconds"`
	Success      bool           `json:"success"`
	Error        string         `json:"error,omitempty"`
	Firing       int            `json:"firing"`
	Resolved     int            `json:"resolved"`
	Fingerprints []string       `json:"fingerprints"`
}

// HistoryQuery selects history events; zero fields do not filter.
type HistoryQuery struct {
	Kind        string
	Fingerprint string
	Receiver    string
	Since       time.Time
	Until       time.Time
	Limit       int
}

// history writes events to the state store in batches from one goroutine,
// so that recording never blocks the alert path: when the buffer is full
// events are dropped and counted.
type history struct {
	ch      chan Event
	state   StateStore
	logger  *slog.Logger
	dropped prometheus.Counter
}

const (
	historyBuffer     = 65536
	historyBatch      = 2048
	historyFlushEvery = time.Second
)

func newHistory(state StateStore, logger *slog.Logger, dropped prometheus.Counter) *history {
	return &history{ch: make(chan Event, historyBuffer), state: state, logger: logger, dropped: dropped}
}

func (h *history) add(e Event) {
	select {
	case h.ch <- e:
	default:
		h.dropped.Inc()
	}
}

// run writes events until ctx ends, then writes what is buffered.
func (h *history) run(ctx context.Context) {
	t := time.NewTicker(historyFlushEvery)
	defer t.Stop()
	batch := make([]state.Event, 0, historyBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		// A write must finish even while shutting down.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := h.state.AppendEvents(wctx, batch); err != nil {
			h.logger.Error("Writing alert history failed", "events", len(batch), "err", err)
			h.dropped.Add(float64(len(batch)))
		}
		cancel()
		batch = batch[:0]
	}
	for {
		select {
		case e := <-h.ch:
			batch = append(batch, toStored(e))
			if len(batch) >= historyBatch {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case e := <-h.ch:
					batch = append(batch, toStored(e))
				default:
					flush()
					return
				}
			}
		}
	}
}

func toStored(e Event) state.Event {
	var data any = e.Alert
	switch {
	case e.Notification != nil:
		data = e.Notification
	case e.Silence != nil:
		data = e.Silence
	}
	b, _ := json.Marshal(data) // plain structs of strings and numbers
	return state.Event{Time: e.Time, Kind: e.Kind, Fingerprint: e.Fingerprint, Receiver: e.Receiver, Data: b}
}

func fromStored(s state.Event) (Event, error) {
	e := Event{ID: s.ID, Time: s.Time, Kind: s.Kind, Fingerprint: s.Fingerprint, Receiver: s.Receiver}
	var err error
	switch s.Kind {
	case EventAlert:
		e.Alert = &AlertEvent{}
		err = json.Unmarshal(s.Data, e.Alert)
	case EventNotification:
		e.Notification = &NotificationEvent{}
		err = json.Unmarshal(s.Data, e.Notification)
	case EventSilence:
		e.Silence = &SilenceEvent{}
		err = json.Unmarshal(s.Data, e.Silence)
	}
	if err != nil {
		return e, fmt.Errorf("decode history event %d: %w", s.ID, err)
	}
	return e, nil
}

// History returns the history events q selects, newest first.
func (m *Manager) History(ctx context.Context, q HistoryQuery) ([]Event, error) {
	if m.opts.State == nil {
		return nil, nil
	}
	rows, err := m.opts.State.Events(ctx, state.EventQuery{
		Kind: q.Kind, Fingerprint: q.Fingerprint, Receiver: q.Receiver, Since: q.Since, Until: q.Until, Limit: q.Limit,
	})
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		e, err := fromStored(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
