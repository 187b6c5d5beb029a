package notifier

import (
	"context"
	"sync"
	"time"
)

// sendLoop sends the alerts queued for one destination, a batch at a time.
type sendLoop struct {
	name    string // the URL, or "local"
	send    func(ctx context.Context, alerts []*Alert) error
	m       *Manager
	hasWork chan struct{}
	stopped chan struct{}
	once    sync.Once

	mu    sync.Mutex
	queue []*Alert
}

func (m *Manager) newSendLoop(name string, send func(context.Context, []*Alert) error) *sendLoop {
	m.metrics.init(name)
	return &sendLoop{name: name, send: send, m: m, hasWork: make(chan struct{}, 1), stopped: make(chan struct{})}
}

// add queues alerts, dropping the oldest ones beyond the capacity.
func (s *sendLoop) add(alerts ...*Alert) {
	select {
	case <-s.stopped:
		return
	default:
	}
	capacity := s.m.opts.QueueCapacity
	s.mu.Lock()
	dropped := 0
	if d := len(alerts) - capacity; d > 0 {
		dropped += d
		alerts = alerts[d:]
	}
	if d := len(s.queue) + len(alerts) - capacity; d > 0 {
		dropped += d
		s.queue = s.queue[d:]
	}
	s.queue = append(s.queue, alerts...)
	n := len(s.queue)
	s.mu.Unlock()
	if dropped > 0 {
		s.m.logger.Warn("Alert notification queue full, dropping alerts", "alertmanager", s.name, "count", dropped)
		s.m.metrics.dropped.WithLabelValues(s.name).Add(float64(dropped))
	}
	s.m.metrics.queueLength.WithLabelValues(s.name).Set(float64(n))
	select {
	case s.hasWork <- struct{}{}:
	default:
	}
}

func (s *sendLoop) nextBatch() []*Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(s.queue), s.m.opts.MaxBatchSize)
	batch := append([]*Alert(nil), s.queue[:n]...)
	s.queue = s.queue[n:]
	s.m.metrics.queueLength.WithLabelValues(s.name).Set(float64(len(s.queue)))
	return batch
}

// run starts the loop's goroutine, counted in wg.
func (s *sendLoop) run(wg *sync.WaitGroup, ctx context.Context) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-s.stopped:
				return
			case <-ctx.Done():
				return
			case <-s.hasWork:
			}
			for {
				batch := s.nextBatch()
				if len(batch) == 0 {
					break
				}
				s.sendBatch(ctx, batch)
				select {
				case <-s.stopped:
					return
				default:
				}
			}
		}
	}()
}

func (s *sendLoop) sendBatch(ctx context.Context, batch []*Alert) {
	begin := time.Now()
	if err := s.send(ctx, batch); err != nil {
		s.m.logger.Error("Error sending alerts", "alertmanager", s.name, "count", len(batch), "err", err)
		s.m.metrics.errors.WithLabelValues(s.name).Add(float64(len(batch)))
		s.m.metrics.dropped.WithLabelValues(s.name).Add(float64(len(batch)))
		return
	}
	s.m.metrics.latency.WithLabelValues(s.name).Observe(time.Since(begin).Seconds())
	s.m.metrics.sent.WithLabelValues(s.name).Add(float64(len(batch)))
}

// stop ends the loop; queued alerts are dropped and counted.
func (s *sendLoop) stop() {
	s.once.Do(func() {
		close(s.stopped)
		s.mu.Lock()
		n := len(s.queue)
		s.queue = nil
		s.mu.Unlock()
		if n > 0 {
			s.m.logger.Warn("Alert notification queue not drained, dropping alerts", "alertmanager", s.name, "count", n)
		}
		s.m.metrics.delete(s.name)
	})
}
