package apphost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/argus-mon/argus/internal/config"
)

// worker is one process of an app: one start of one slot of a pool.
type worker struct {
	slot    int
	network string // "tcp" or "unix"
	addr    string // where the process listens: 127.0.0.1:port or a socket path
	host    string // its name in URLs: addr, or the socket file's name
	socket  string // the socket file to remove once it exited; "" for none
	cmd     *exec.Cmd
	pid     int
	started time.Time
	exited  chan struct{} // closed once the process has exited and been reaped
	waitErr error         // cmd.Wait's result, set before exited is closed
	recycle chan struct{} // buffered; pick signals it when requests reach max_requests
	idle    idleConns     // forward's kept-alive connections to it
	// loopIdle counts the event loops' kept-alive connections to it
	// (see evLoop.idle and cooling), which are the loops' own.
	loopIdle atomic.Int32

	// Under the pool's mu.
	inFlight  int  // requests picked for this worker and not released
	requests  int  // requests picked for this worker in all
	killed    bool // killed for exceeding the request timeout
	replacing bool // a new process is starting to take over from this one
}

// The reason label of argus_app_worker_recycles_total.
const (
	reasonMaxRequests = "max_requests" // the worker was given max_requests requests
	reasonMaxRSS      = "max_rss"      // the worker's resident memory exceeded max_rss
)

// pool is the set of workers of one version of an app's config: one
// supervised slot per worker. A rolling reload starts a new pool and stops
// the old one once the new one is ready.
type pool struct {
	spec    *config.App
	env     []string
	logger  *slog.Logger
	metrics *metrics
	out     *logFile
	opts    *Options
	health  *http.Client
	// socketDir holds the workers' unix sockets, in listen mode unix; ""
	// if no directory gives paths short enough.
	socketDir string

	cancel   context.CancelFunc
	wg       sync.WaitGroup // the slot supervisors
	stopping chan struct{}  // closed when stop begins; pickers move on

	mu       sync.Mutex
	running  map[int]*worker // by slot, the live process in rotation or starting for it
	lastErr  map[int]string  // by slot, the last failure of a worker, for the stats
	ready    []*worker       // in rotation
	next     int             // round-robin position in ready
	changed  chan struct{}   // closed and replaced when ready or, with waiting, an in-flight count changes
	waiting  int             // goroutines waiting on changed
	everUp   map[int]bool    // slots that have had a healthy worker
	allReady chan struct{}   // closed when every slot has had a healthy worker
}

func newPool(spec *config.App, out *logFile, logger *slog.Logger, m *metrics, opts *Options) *pool {
	env := os.Environ()
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+spec.Env[k])
	}
	env = append(env, config.EnvApp+"="+spec.Name)
	var sockDir string
	if spec.ListenMode == config.ListenUnix {
		var fallback bool
		sockDir, fallback = socketDir(opts.LogDir, spec.Name)
		if fallback {
			logger.Info("Unix socket paths under the data directory would be too long; using a directory under the temporary directory",
				"dir", sockDir, "max_bytes", maxSocketPath)
		}
		if sockDir != "" {
			removeStaleSockets(sockDir)
		}
	}
	dialer := &net.Dialer{Timeout: time.Second}
	return &pool{
		spec: spec, env: env, logger: logger, metrics: m, out: out, opts: opts, socketDir: sockDir,
		// Health checks open a connection each: a kept-alive one would
		// outlive the worker it was made to.
		health: &http.Client{Timeout: time.Second,
			Transport: &http.Transport{DisableKeepAlives: true, DialContext: workerDialer(dialer)}},
		stopping: make(chan struct{}),
		running:  map[int]*worker{},
		lastErr:  map[int]string{},
		changed:  make(chan struct{}),
		everUp:   map[int]bool{},
		allReady: make(chan struct{}),
	}
}

// start starts the slot supervisors; they run until stop.
func (p *pool) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for slot := range p.spec.Workers {
		p.wg.Go(func() { p.supervise(ctx, slot) })
	}
}

// stop drains and stops every worker and waits for the supervisors.
func (p *pool) stop() {
	close(p.stopping)
	p.cancel()
	p.wg.Wait()
}

// errPoolStopping is returned by pick when the pool is being replaced or
// stopped, so the caller can pick from the app's current pool instead.
var errPoolStopping = errors.New("pool stopping")

// pick returns a ready worker, round-robin, waiting for one until ctx ends.
// The caller must release it.
func (p *pool) pick(ctx context.Context) (*worker, error) {
	for {
		p.mu.Lock()
		if w := p.takeReady(); w != nil {
			p.mu.Unlock()
			return w, nil
		}
		changed := p.changed
		p.waiting++
		p.mu.Unlock()
		var err error
		select {
		case <-changed:
		case <-p.stopping:
			err = errPoolStopping
		case <-ctx.Done():
			err = ctx.Err()
		}
		p.mu.Lock()
		p.waiting--
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// tryPick returns a ready worker, round-robin, or nil if none is ready
// now. The caller must release it.
func (p *pool) tryPick() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.takeReady()
}

// takeReady is pick's step: the next ready worker, or nil. p.mu is held.
func (p *pool) takeReady() *worker {
	n := len(p.ready)
	if n == 0 {
		return nil
	}
	w := p.ready[p.next%n]
	p.next++
	w.inFlight++
	w.requests++
	if w.requests == p.spec.MaxRequests {
		w.recycle <- struct{}{} // once per worker: never blocks
	}
	return w
}

func (p *pool) release(w *worker) {
	p.mu.Lock()
	w.inFlight--
	// Only a waiter needs the news: a new channel per request is garbage
	// the proxy's hot path need not make.
	if p.waiting > 0 {
		p.broadcast()
	}
	p.mu.Unlock()
}

// broadcast wakes everyone waiting on p.changed. p.mu is held.
func (p *pool) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *pool) setReady(w *worker, ready bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ready {
		p.ready = append(p.ready, w)
		sort.Slice(p.ready, func(i, j int) bool { return p.ready[i].slot < p.ready[j].slot })
		if !p.everUp[w.slot] {
			p.everUp[w.slot] = true
			if len(p.everUp) == p.spec.Workers {
				close(p.allReady)
			}
		}
	} else {
		for i, r := range p.ready {
			if r == w {
				p.ready = append(p.ready[:i], p.ready[i+1:]...)
				break
			}
		}
	}
	p.broadcast()
}

// supervise keeps one slot's worker running: start, health check, serve,
// and after an exit start again after a backoff that doubles up to
// MaxBackoff and starts over once a worker has stayed up StableAfter.
func (p *pool) supervise(ctx context.Context, slot int) {
	var backoff time.Duration // the wait before the next start
	label := strconv.Itoa(slot)
	for first := true; ; first = false {
		if !first {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			p.metrics.restarts.WithLabelValues(p.spec.Name, label).Inc()
		}
		w, err := p.startWorker(slot)
		if err != nil {
			p.logger.Error("Cannot start worker", "worker", slot, "err", err)
			p.noteError(slot, err.Error())
			backoff = nextBackoff(backoff, 0, p.opts)
			continue
		}
		p.setRunning(w)
		if err := p.waitHealthy(ctx, w); err != nil {
			if ctx.Err() == nil {
				p.logger.Error("Worker failed its health check; killing it", "worker", slot, "pid", w.pid, "err", err)
				p.noteError(slot, "health check: "+err.Error())
			}
			p.kill(w)
			p.reap(w)
			if ctx.Err() != nil {
				return
			}
			backoff = nextBackoff(backoff, 0, p.opts)
			continue
		}
		p.setReady(w, true)
		p.logger.Info("Worker ready", "worker", slot, "pid", w.pid, "addr", w.addr)
		if w = p.serve(ctx, w); w == nil {
			return
		}
		backoff = nextBackoff(backoff, time.Since(w.started), p.opts)
	}
}

// serve watches a ready worker, replacing it with a new process whenever
// it passes a recycle limit, until the current one exits (it is returned,
// out of rotation and reaped) or ctx ends (it is stopped, and serve
// returns nil).
func (p *pool) serve(ctx context.Context, w *worker) *worker {
	var checkRSS <-chan time.Time
	if p.spec.MaxRSS > 0 {
		t := time.NewTicker(p.opts.RecycleCheckInterval)
		defer t.Stop()
		checkRSS = t.C
	}
	var checkHealth <-chan time.Time
	if d := time.Duration(p.spec.HealthCheck.Interval); d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		checkHealth = t.C
	}
	var (
		retry    <-chan time.Time // after a replacement failed to come up
		pending  string           // the reason of that replacement
		backoff  time.Duration
		failures int // health checks of w failed in a row
	)
	for {
		reason := ""
		select {
		case <-checkHealth:
			if p.checkRunning(ctx, w, &failures) {
				continue
			}
			// Sick: out of rotation, stopped, and started again by
			// supervise, as after an exit.
			p.setReady(w, false)
			p.stopWorker(w)
			return w
		case <-w.exited:
			p.setReady(w, false)
			p.reap(w)
			p.logExit(w)
			return w
		case <-ctx.Done():
			p.setReady(w, false)
			p.stopWorker(w)
			return nil
		case <-w.recycle:
			reason = reasonMaxRequests
		case <-checkRSS:
			if u, ok := readProcUsage(w.pid); ok && u.rss > int64(p.spec.MaxRSS) {
				reason = reasonMaxRSS
			}
		case <-retry:
			reason, retry = pending, nil
		}
		if reason == "" || retry != nil || ctx.Err() != nil {
			continue // nothing to do, a retry is already due, or stopping
		}
		if nw := p.replace(ctx, w, reason); nw != nil {
			w, retry, pending, backoff, failures = nw, nil, "", 0, 0
			continue
		}
		backoff = nextBackoff(backoff, 0, p.opts)
		retry, pending = time.After(backoff), reason
	}
}

// checkRunning checks the health of w, a worker in rotation, counting
// failures in a row in *failures. It reports false once there have been
// health_check.failures of them, and w must be restarted.
func (p *pool) checkRunning(ctx context.Context, w *worker, failures *int) bool {
	err := p.check(ctx, w)
	if err == nil || ctx.Err() != nil {
		*failures = 0
		return true
	}
	slot := strconv.Itoa(w.slot)
	p.metrics.healthFailures.WithLabelValues(p.spec.Name, slot).Inc()
	p.mu.Lock()
	busy := w.inFlight > 0
	p.mu.Unlock()
	if busy {
		// A worker serving requests may answer its health check late
		// (a single-threaded one not at all) without being stuck; a
		// request that is stuck is the request timeout's to end. So
		// failures only count while it is idle.
		p.logger.Warn("Worker failed a health check while serving requests; not counted",
			"worker", w.slot, "pid", w.pid, "err", err)
		return true
	}
	*failures++
	if *failures < p.spec.HealthCheck.Failures {
		p.logger.Warn("Worker failed a health check", "worker", w.slot, "pid", w.pid,
			"failures", *failures, "of", p.spec.HealthCheck.Failures, "err", err)
		return true
	}
	p.metrics.healthKills.WithLabelValues(p.spec.Name, slot).Inc()
	p.logger.Error("Worker failed its health checks; taking it out of rotation and restarting it",
		"worker", w.slot, "pid", w.pid, "failures", *failures, "err", err)
	p.noteError(w.slot, "health check: "+err.Error())
	return false
}

// replace recycles w: it starts a new process for w's slot and, once that
// passes its health check, puts it in rotation in w's place and drains and
// stops w in the background, so that no request fails. It returns the new
// worker, or nil if it did not come up (w then keeps serving).
func (p *pool) replace(ctx context.Context, w *worker, reason string) *worker {
	p.logger.Info("Recycling worker", "worker", w.slot, "pid", w.pid, "reason", reason)
	p.mu.Lock()
	w.replacing = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		w.replacing = false
		p.mu.Unlock()
	}()
	// The old worker serves on while the new one comes up, which may take
	// the start timeout; if it exits meanwhile (it crashed, or was killed
	// for its memory or a request timeout), it leaves the rotation at once
	// rather than failing the requests sent to it until then. serve reaps
	// it afterwards.
	watching := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-w.exited:
			p.setReady(w, false)
		case <-watching:
		}
	}()
	nw, err := p.startWorker(w.slot)
	if err == nil {
		if err = p.waitHealthy(ctx, nw); err != nil {
			p.kill(nw)
			p.reap(nw)
		}
	}
	close(watching)
	<-watched
	if err != nil {
		if ctx.Err() == nil {
			p.logger.Error("The worker to take over from a recycled one did not come up; the old one keeps serving",
				"worker", w.slot, "pid", w.pid, "reason", reason, "err", err)
			p.noteError(w.slot, "recycle: "+err.Error())
		}
		return nil
	}
	p.mu.Lock()
	p.running[nw.slot] = nw
	p.mu.Unlock()
	p.setReady(nw, true)
	p.setReady(w, false)
	p.metrics.recycles.WithLabelValues(p.spec.Name, strconv.Itoa(w.slot), reason).Inc()
	p.logger.Info("Worker recycled", "worker", w.slot, "old_pid", w.pid, "pid", nw.pid, "reason", reason)
	p.wg.Go(func() { p.stopWorker(w) })
	return nw
}

// noteError records the last failure of a slot's worker, for the stats.
func (p *pool) noteError(slot int, msg string) {
	p.mu.Lock()
	p.lastErr[slot] = msg
	p.mu.Unlock()
}

// nextBackoff returns the wait before starting again a worker that ran for
// uptime and was started after waiting prev (0 for its first start): the
// minimum, doubled at each failure in a row up to the maximum, and the
// minimum again after a run of StableAfter.
func nextBackoff(prev, uptime time.Duration, o *Options) time.Duration {
	if prev == 0 || uptime >= o.StableAfter {
		return o.MinBackoff
	}
	return min(2*prev, o.MaxBackoff)
}

func (p *pool) logExit(w *worker) {
	p.mu.Lock()
	killed := w.killed
	p.mu.Unlock()
	switch {
	case killed:
		p.logger.Warn("Worker killed for exceeding the request timeout; restarting it", "worker", w.slot, "pid", w.pid)
		p.noteError(w.slot, "killed: no answer within the request timeout")
	default:
		p.logger.Warn("Worker exited; restarting it", "worker", w.slot, "pid", w.pid, "status", exitStatus(w.waitErr))
		p.noteError(w.slot, "exited: "+exitStatus(w.waitErr))
	}
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// startWorker starts a process for the slot, listening where the app's
// listen mode says, in a process group of its own so that stopping it
// reaches its children too. The caller records it in running
// (setRunning) when it is the slot's.
func (p *pool) startWorker(slot int) (*worker, error) {
	ep, err := p.newEndpoint(slot)
	if err != nil {
		return nil, err
	}
	// argus's copies of a handed-over socket are not needed once the
	// child has its own, nor if it did not start.
	defer ep.closeListener()
	cmd := exec.Command(p.spec.Command, p.spec.Args...)
	if cmd.Err != nil {
		return nil, fmt.Errorf("start %s: %w", p.spec.Command, cmd.Err)
	}
	cmd.Dir = p.spec.Dir
	cmd.Env = append(p.env[:len(p.env):len(p.env)], config.EnvWorkerID+"="+strconv.Itoa(slot))
	cmd.Env = append(cmd.Env, ep.env...)
	if ep.file != nil {
		cmd.Args = wrapActivation(cmd.Path, p.spec.Args)
		cmd.Path = "/bin/sh"
		cmd.ExtraFiles = []*os.File{ep.file} // fd 3
	}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A child of the worker that keeps its output open must not keep
	// Wait from returning once the worker itself has exited.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.spec.Command, err)
	}
	w := &worker{slot: slot, network: ep.network, addr: ep.addr, host: ep.host, cmd: cmd,
		pid: cmd.Process.Pid, started: time.Now(), exited: make(chan struct{}), recycle: make(chan struct{}, 1)}
	if ep.network == "unix" {
		w.socket = ep.addr
	}
	go func() {
		// Owned by the slot supervisor, which always waits for exited.
		w.waitErr = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// setRunning makes w its slot's process.
func (p *pool) setRunning(w *worker) {
	p.mu.Lock()
	p.running[w.slot] = w
	p.mu.Unlock()
}

// reap forgets an exited worker, after killing what is left of its process
// group (children it started and did not stop) and closing the proxy's
// idle connections to it.
func (p *pool) reap(w *worker) {
	<-w.exited
	w.idle.close()
	syscall.Kill(-w.pid, syscall.SIGKILL)
	if w.socket != "" {
		// The worker does not remove its socket file when it is killed.
		if err := os.Remove(w.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
			p.logger.Warn("Cannot remove a worker's socket file", "worker", w.slot, "path", w.socket, "err", err)
		}
	}
	p.mu.Lock()
	if p.running[w.slot] == w {
		delete(p.running, w.slot)
	}
	p.mu.Unlock()
}

// freePort returns a loopback port nothing listens on. Another process may
// take it before the worker binds it; the worker then fails to start and is
// started again on another port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy polls the health check path until it answers 2xx, the
// worker exits or the start timeout passes.
func (p *pool) waitHealthy(ctx context.Context, w *worker) error {
	timeout := time.Duration(p.spec.HealthCheck.StartTimeout)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = p.check(ctx, w); last == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-w.exited:
			return fmt.Errorf("exited before passing its health check: %s", exitStatus(w.waitErr))
		case <-deadline.C:
			return fmt.Errorf("no 2xx answer within %v; last: %w", timeout, last)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// check requests the health check path of w once, and returns why it
// did not answer 2xx.
func (p *pool) check(ctx context.Context, w *worker) error {
	req, err := http.NewRequestWithContext(context.WithValue(ctx, workerKey{}, w), http.MethodGet,
		"http://"+w.host+p.spec.HealthCheck.Path, nil)
	if err != nil {
		return err
	}
	resp, err := p.health.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s", p.spec.HealthCheck.Path, resp.Status)
	}
	return nil
}

// stopWorker stops a worker taken out of rotation: it waits for the
// requests it is serving (at most the request timeout, which bounds them,
// or else the stop timeout), sends SIGTERM to its process group and, if it
// has not exited after the stop timeout, SIGKILL.
func (p *pool) stopWorker(w *worker) {
	drain := time.Duration(p.spec.RequestTimeout)
	if drain == 0 {
		drain = time.Duration(p.spec.StopTimeout)
	}
	p.waitDrained(w, drain)
	syscall.Kill(-w.pid, syscall.SIGTERM)
	t := time.NewTimer(time.Duration(p.spec.StopTimeout))
	defer t.Stop()
	select {
	case <-w.exited:
	case <-t.C:
		p.logger.Warn("Worker did not exit after SIGTERM; killing it", "worker", w.slot, "pid", w.pid,
			"stop_timeout", time.Duration(p.spec.StopTimeout))
		syscall.Kill(-w.pid, syscall.SIGKILL)
	}
	p.reap(w)
}

func (p *pool) waitDrained(w *worker, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		p.mu.Lock()
		n, changed := w.inFlight, p.changed
		if n == 0 {
			p.mu.Unlock()
			return
		}
		p.waiting++
		p.mu.Unlock()
		done := false
		select {
		case <-changed:
		case <-w.exited:
			done = true
		case <-t.C:
			p.logger.Warn("Stopping a worker with requests in flight", "worker", w.slot, "pid", w.pid, "requests", n)
			done = true
		}
		p.mu.Lock()
		p.waiting--
		p.mu.Unlock()
		if done {
			return
		}
	}
}

// kill sends SIGKILL to the worker's process group.
func (p *pool) kill(w *worker) {
	syscall.Kill(-w.pid, syscall.SIGKILL)
}

// killForTimeout kills a worker that did not answer within the request
// timeout, once however many of its requests time out; its supervisor
// restarts it.
func (p *pool) killForTimeout(w *worker) {
	p.mu.Lock()
	already := w.killed
	w.killed = true
	p.mu.Unlock()
	if already {
		return
	}
	p.metrics.timeoutKills.WithLabelValues(p.spec.Name, strconv.Itoa(w.slot)).Inc()
	p.kill(w)
}

// WorkerStatus describes one running worker process.
type WorkerStatus struct {
	ID      int       // the slot, 0 to workers-1, as in $ARGUS_WORKER_ID
	PID     int       // the process id
	Network string    // "tcp" or "unix"
	Addr    string    // the loopback address or unix socket path it listens on
	Started time.Time // when the process was started
	Ready   bool      // whether it passed its health check and takes requests
}

func (p *pool) status() []WorkerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]WorkerStatus, 0, len(p.running))
	for _, w := range p.running {
		ready := false
		for _, r := range p.ready {
			ready = ready || r == w
		}
		out = append(out, WorkerStatus{ID: w.slot, PID: w.pid, Network: w.network, Addr: w.addr, Started: w.started, Ready: ready})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
