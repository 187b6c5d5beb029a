package apphost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"github.com/argus-mon/argus/internal/config"
)

// workerKey is the context key of the worker a request was given to.
type workerKey struct{}

// errRequestTimeout is the cause of a request's context ending at the
// app's request timeout, to tell it from the client going away.
var errRequestTimeout = errors.New("request timeout")

// ServeHTTP is the front proxy: it picks a ready worker round-robin and
// passes the request on, with forward or ReverseProxy, recording the
// request's metrics.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a.series.inFlight.Inc()
	// One allocation for both: each escapes, into interfaces.
	st := &struct {
		rec  recorder
		body countingBody
	}{rec: recorder{ResponseWriter: w}}
	rec, body := &st.rec, &st.body
	p := a.pool.Load()
	spec := p.spec
	defer func() {
		// Deferred: ReverseProxy aborts a response that fails midway
		// with a panic (http.ErrAbortHandler), which the server handles.
		a.series.inFlight.Dec()
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		a.series.request(r.Method, code).Inc()
		a.series.duration.Observe(time.Since(start).Seconds())
		a.series.requestBytes.Add(float64(body.n.Load()))
		a.series.responseBytes.Add(float64(rec.n))
		if l := a.access.Load(); l != nil && spec.AccessLog != config.AccessLogOff {
			e := newAccessEntry(r, start, code, rec.n, body.n.Load())
			// A failed write is not the client's problem, and logging
			// it per request would flood the log.
			l.Write(appendEntry(nil, spec.AccessLog, e))
		}
	}()

	if limit := int64(spec.MaxBodySize); limit > 0 {
		if r.ContentLength > limit {
			http.Error(rec, fmt.Sprintf("request body larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(rec, r.Body, limit)
		}
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		body.ReadCloser, body.want = r.Body, r.ContentLength
		r.Body = body
	} else {
		body.done.Store(true)
	}
	// Plain HTTP/1.x requests go through forward; upgrades, HTTP/2,
	// Expect and large or chunked bodies through ReverseProxy.
	fast := fastEligible(r)
	// A request of the front server's own, with its body all read, is
	// bounded by deadlines when a worker is ready at once (see direct);
	// one waiting for a worker goes the way below, which bounds the wait.
	if fw, ok := w.(*frontWriter); ok && fast && fw.c.bodyBuffered(r.ContentLength) {
		if wk := p.tryPick(); wk != nil {
			a.forwardDirect(rec, r, p, wk, body, fw.c, start)
			return
		}
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	var timer *time.Timer // ends the request at the request timeout
	reqTimeout := time.Duration(spec.RequestTimeout)
	if reqTimeout > 0 {
		rc := http.NewResponseController(w)
		timer = time.AfterFunc(reqTimeout, func() {
			cancel(errRequestTimeout)
			if !body.done.Load() {
				// A read of the client's body does not end with the
				// context: the read deadline ends it.
				rc.SetReadDeadline(time.Now())
			}
		})
		defer timer.Stop()
	}
	for {
		wk, err := p.pick(ctx)
		if errors.Is(err, errPoolStopping) {
			// A reload replaced the pool while we waited.
			if p = a.pool.Load(); !isClosed(p.stopping) {
				continue
			}
		}
		// The worker gets the whole request timeout from when it takes
		// the request, as uWSGI's harakiri counts: time spent waiting for
		// a ready worker must not get the worker killed for being slow.
		// The wait itself is bounded by the timeout too (then 503).
		if err == nil && timer != nil && !timer.Stop() {
			// The timeout passed as the worker was picked.
			p.release(wk)
			err = context.Cause(ctx)
		}
		if err != nil {
			a.metrics.upstreamErrors.WithLabelValues(a.name, errKindNoWorker).Inc()
			http.Error(rec, fmt.Sprintf("app %s: no worker is ready to take the request", a.name), http.StatusServiceUnavailable)
			return
		}
		if timer != nil {
			timer.Reset(reqTimeout)
		}
		// The closures below take this copy: capturing the variable the
		// loop assigns would move it to the heap for every request,
		// the direct ones too.
		p := p
		defer p.release(wk)
		// Deferred, so that it also runs when a response that had begun
		// and then stalled is aborted with a panic.
		pk := &picked{pool: p, worker: wk, start: start, timer: timer, body: body}
		defer func() {
			if context.Cause(ctx) == errRequestTimeout && pk.workersFault() {
				p.killForTimeout(wk)
			}
		}()
		if fast {
			a.forward(ctx, rec, r, pk, nil)
			return
		}
		a.proxy.ServeHTTP(rec, r.WithContext(context.WithValue(ctx, workerKey{}, pk)))
		if pk.upgraded && rec.code == 0 {
			// ReverseProxy writes a 101 to the hijacked connection
			// itself, past the recorder.
			rec.code = http.StatusSwitchingProtocols
		}
		return
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// picked is a request's worker and the pool it came from.
type picked struct {
	pool   *pool
	worker *worker
	start  time.Time   // when the proxy took the request
	timer  *time.Timer // the request timeout's; nil for none
	// upgraded is set by modifyResponse, before ReverseProxy.ServeHTTP
	// returns, when the worker switched protocols.
	upgraded bool
	// body is the request's body as the worker reads it, and answered
	// is set once the worker's response head has arrived.
	body     *countingBody
	answered atomic.Bool
}

// workersFault reports whether a request that reached the request timeout
// was the worker's to answer: the worker had the whole request and had not
// begun its response. A client sending its body slowly, or reading the
// response slowly, must not get a worker killed (harakiri is for stuck
// workers, and uWSGI's runs behind nginx, which buffers both).
func (pk *picked) workersFault() bool {
	return pk.body.done.Load() && !pk.answered.Load()
}

// modifyResponse lifts the request timeout from a connection upgraded
// to another protocol (WebSocket): it is no longer a request, and may
// rightly stay open for hours.
func (a *app) modifyResponse(resp *http.Response) error {
	pk := resp.Request.Context().Value(workerKey{}).(*picked)
	pk.answered.Store(true)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		pk.upgraded = true
		if pk.timer != nil {
			pk.timer.Stop()
		}
	}
	return nil
}

// rewrite sends the request to its worker, keeping the Host the client
// asked for and adding X-Forwarded-For, -Host and -Proto, and
// X-Forwarded-Prefix when the shared front stripped a path prefix. What
// the client sent in these headers is dropped: it could claim anything.
func (a *app) rewrite(pr *httputil.ProxyRequest) {
	pk := pr.In.Context().Value(workerKey{}).(*picked)
	pr.Out.URL.Scheme = "http"
	// A name for the worker, which the transport keys its kept-alive
	// connections by; workerDialer dials the worker itself.
	pr.Out.URL.Host = pk.worker.host
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
	pr.Out.Header.Del("X-Forwarded-Prefix")
	for k := range pr.Out.Header {
		if forwardingAlias(k) {
			delete(pr.Out.Header, k)
		}
	}
	if p := forwardedPrefix(pr.In); p != "" {
		pr.Out.Header.Set("X-Forwarded-Prefix", p)
	}
}

// proxyError answers a request the worker did not: 413 for a body over the
// limit, 504 at the request timeout (the worker is killed by ServeHTTP),
// 502 otherwise.
func (a *app) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	a.upstreamError(r.Context(), w, r, r.Context().Value(workerKey{}).(*picked), err)
}

// upstreamError is proxyError for both paths; ctx is the request's, with
// the request timeout as its cause when it ends there.
func (a *app) upstreamError(ctx context.Context, w http.ResponseWriter, r *http.Request, pk *picked, err error) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit), http.StatusRequestEntityTooLarge)
	case context.Cause(ctx) == errRequestTimeout && !pk.body.done.Load():
		// The client had not sent its whole body: its fault, as nginx's
		// client_body_timeout says.
		http.Error(w, fmt.Sprintf("app %s: the request body did not arrive within %v",
			a.name, time.Duration(pk.pool.spec.RequestTimeout)), http.StatusRequestTimeout)
	case context.Cause(ctx) == errRequestTimeout:
		a.noteTimeout(r, pk)
		http.Error(w, fmt.Sprintf("app %s: worker %d did not answer within %v and is being restarted",
			a.name, pk.worker.slot, time.Duration(pk.pool.spec.RequestTimeout)), http.StatusGatewayTimeout)
	case ctx.Err() != nil:
		// The client went away; nginx's 499 says so in the metrics.
		w.WriteHeader(499)
	case isDialError(err):
		a.metrics.upstreamErrors.WithLabelValues(a.name, errKindConnect).Inc()
		a.logger.Warn("Cannot reach worker", "worker", pk.worker.slot, "addr", pk.worker.addr, "err", err)
		http.Error(w, fmt.Sprintf("app %s: cannot reach worker %d", a.name, pk.worker.slot), http.StatusBadGateway)
	default:
		a.metrics.upstreamErrors.WithLabelValues(a.name, errKindResponse).Inc()
		a.logger.Warn("Worker failed to answer", "worker", pk.worker.slot, "pid", pk.worker.pid, "err", err)
		http.Error(w, fmt.Sprintf("app %s: worker %d failed to answer: %v", a.name, pk.worker.slot, err), http.StatusBadGateway)
	}
}

// noteTimeout counts and logs a request that reached the request
// timeout; ServeHTTP kills its worker.
func (a *app) noteTimeout(r *http.Request, pk *picked) {
	a.metrics.upstreamErrors.WithLabelValues(a.name, errKindTimeout).Inc()
	a.logger.Warn("Request timed out; killing the worker", "worker", pk.worker.slot, "pid", pk.worker.pid,
		"method", r.Method, "path", r.URL.Path, "request_timeout", time.Duration(pk.pool.spec.RequestTimeout))
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// recorder notes the status code and body size of a response. Unwrap lets
// http.ResponseController (which ReverseProxy uses to flush and to hijack
// for protocol upgrades) reach the underlying writer.
type recorder struct {
	http.ResponseWriter
	code int
	n    int64
}

func (r *recorder) WriteHeader(code int) {
	r.noteCode(code)
	r.ResponseWriter.WriteHeader(code)
}

// noteCode notes a final status code written past WriteHeader.
func (r *recorder) noteCode(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.n += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// countingBody counts the bytes read from a request body. The count is
// atomic: the transport may still be sending the body when the response has
// come back and ServeHTTP records it.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
	// want is the body's length when the client gave it (forward reads
	// exactly that much and never sees the end), or -1.
	want int64
	// done is set once the whole body has been read from the client (and
	// from the start for a request without one).
	done atomic.Bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if got := b.n.Add(int64(n)); err == io.EOF || (b.want >= 0 && got >= b.want) {
		b.done.Store(true)
	}
	return n, err
}
