package apphost

import (
	"encoding/json"
	"net"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Stats is a snapshot of the app host for its stats endpoint and for
// `argus top`, in the spirit of uWSGI's stats server.
type Stats struct {
	Apps     []AppStats `json:"apps"`
	Problems []string   `json:"problems"` // see Host.Problems
}

// AppStats describes one running app.
type AppStats struct {
	Name     string        `json:"name"`
	File     string        `json:"file"`      // where it is declared; "" for the apps section
	Listen   string        `json:"listen"`    // the front proxy's address
	Requests int64         `json:"requests"`  // answered by the front proxy since the app started
	InFlight int64         `json:"in_flight"` // being served by the front proxy
	Workers  []WorkerStats `json:"workers"`   // one per slot, by id
}

// The states of a worker slot.
const (
	StateReady     = "ready"     // in rotation
	StateRecycling = "recycling" // in rotation while a new process starts to take over
	StateStarting  = "starting"  // started, not yet through its health check
	StateDown      = "down"      // no process: waiting to be started again
)

// WorkerStats describes one worker slot and its current process.
type WorkerStats struct {
	ID            int     `json:"id"`               // as in $ARGUS_WORKER_ID
	PID           int     `json:"pid"`              // 0 when down
	Port          int     `json:"port"`             // the loopback port it listens on; 0 when down or on a unix socket
	Socket        string  `json:"socket,omitempty"` // the unix socket it listens on, in listen mode unix
	State         string  `json:"state"`            // ready, recycling, starting or down
	Requests      int64   `json:"requests"`         // given to the current process
	InFlight      int64   `json:"in_flight"`        // given to it and not yet answered
	Restarts      int64   `json:"restarts"`         // starts after an exit, since the app started
	Recycles      int64   `json:"recycles"`         // replacements for max_requests or max_rss
	RSSBytes      int64   `json:"rss_bytes"`        // resident memory of the current process
	CPUSeconds    float64 `json:"cpu_seconds"`      // user and system time of the current process
	UptimeSeconds float64 `json:"uptime_seconds"`   // since the current process started
	LastError     string  `json:"last_error"`       // the slot's last failure; "" if none
}

// Stats returns the running apps, by name, with their workers.
func (h *Host) Stats() Stats {
	h.mu.Lock()
	apps := make([]*app, 0, len(h.apps))
	for _, a := range h.apps {
		apps = append(apps, a)
	}
	st := Stats{Apps: []AppStats{}, Problems: []string{}}
	for _, p := range h.problems {
		st.Problems = append(st.Problems, p.Error())
	}
	h.mu.Unlock()
	sort.Slice(apps, func(i, j int) bool { return apps[i].name < apps[j].name })
	now := time.Now()
	for _, a := range apps {
		p := a.pool.Load()
		as := AppStats{
			Name: a.name, File: p.spec.File(), Listen: a.ln.Addr().String(),
			Requests: int64(sumCounters(h.metrics.requests, "app", a.name)),
			InFlight: int64(sumCounters(h.metrics.inFlight, "app", a.name)),
			Workers:  p.stats(now),
		}
		for i := range as.Workers {
			w := &as.Workers[i]
			id := strconv.Itoa(w.ID)
			w.Restarts = int64(sumCounters(h.metrics.restarts, "app", a.name, "worker", id))
			w.Recycles = int64(sumCounters(h.metrics.recycles, "app", a.name, "worker", id))
			if w.PID == 0 {
				continue
			}
			if u, ok := readProcUsage(w.PID); ok {
				w.RSSBytes, w.CPUSeconds = u.rss, u.cpu.Seconds()
			}
		}
		st.Apps = append(st.Apps, as)
	}
	return st
}

// stats returns the pool's slots as they are now; the caller adds what
// does not come from the pool.
func (p *pool) stats(now time.Time) []WorkerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	inRotation := map[*worker]bool{}
	for _, w := range p.ready {
		inRotation[w] = true
	}
	out := make([]WorkerStats, p.spec.Workers)
	for slot := range out {
		ws := WorkerStats{ID: slot, State: StateDown, LastError: p.lastErr[slot]}
		if w := p.running[slot]; w != nil {
			if w.network == "unix" {
				ws.Socket = w.addr
			} else {
				_, port, _ := net.SplitHostPort(w.addr)
				ws.Port, _ = strconv.Atoi(port)
			}
			ws.PID = w.pid
			ws.Requests, ws.InFlight = int64(w.requests), int64(w.inFlight)
			ws.UptimeSeconds = now.Sub(w.started).Seconds()
			switch {
			case inRotation[w] && w.replacing:
				ws.State = StateRecycling
			case inRotation[w]:
				ws.State = StateReady
			default:
				ws.State = StateStarting
			}
		}
		out[slot] = ws
	}
	return out
}

// sumCounters adds up the values of the series of c (counters or gauges)
// whose labels include the given name, value pairs.
func sumCounters(c prometheus.Collector, labels ...string) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	sum := 0.0
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || !hasLabels(&d, labels) {
			continue
		}
		sum += d.GetCounter().GetValue() + d.GetGauge().GetValue()
	}
	return sum
}

func hasLabels(d *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range d.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// StatsHandler serves Stats as JSON, in the envelope of argus's HTTP API:
// {"status": "success", "data": {"apps": [...], "problems": [...]}}.
func (h *Host) StatsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Status string `json:"status"`
			Data   Stats  `json:"data"`
		}{"success", h.Stats()})
	})
}
