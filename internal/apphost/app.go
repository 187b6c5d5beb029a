package apphost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/argus-mon/argus/internal/config"
)

// app is one running app: its front proxy on its listen address and its
// current pool of workers. Its goroutine (run) owns the pools and applies
// config changes one at a time.
type app struct {
	name    string
	logger  *slog.Logger
	metrics *metrics
	series  *appSeries
	opts    *Options
	out     *logFile
	access  atomic.Pointer[logFile] // nil until an access log is wanted

	ln        net.Listener
	srv       *frontServer
	dialer    *net.Dialer // of connections to workers, for both paths
	buffers   *copyBuffers
	transport *http.Transport
	proxy     *httputil.ReverseProxy

	pool    atomic.Pointer[pool] // the pool taking new requests, and its config
	mu      sync.Mutex
	wanted  *config.App // the config last asked for; see update
	updates chan *config.App
	cancel  context.CancelFunc
	done    chan struct{} // closed when run has stopped everything
}

// newApp opens the app's log and binds its listen address, the steps that
// fail on a bad environment (a taken port, an unwritable data directory),
// so that the caller can report them. run starts serving.
func newApp(spec *config.App, logger *slog.Logger, m *metrics, opts *Options) (*app, error) {
	if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	out, err := openLogFile(filepath.Join(opts.LogDir, spec.Name+".log"), int64(spec.LogMaxSize))
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	a := &app{
		name: spec.Name, logger: logger, metrics: m, series: m.forApp(spec.Name), opts: opts, out: out, wanted: spec,
		updates: make(chan *config.App, 1), done: make(chan struct{}),
		dialer: dialer, buffers: &copyBuffers{},
		transport: &http.Transport{
			DialContext:           workerDialer(dialer),
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
	a.proxy = &httputil.ReverseProxy{
		Rewrite:        a.rewrite,
		ModifyResponse: a.modifyResponse,
		Transport:      a.transport,
		// Zero, not -1: ReverseProxy already passes each write on at once
		// for responses without a length (chunked, streamed) and for
		// text/event-stream; a response with a length then goes out in
		// the server's one final write instead of a flush per copy (a
		// flush per response was a fifth of the proxy's CPU).
		FlushInterval: 0,
		BufferPool:    a.buffers,
		ErrorHandler:  a.proxyError,
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if err := a.openFront(spec); err != nil {
		a.closeLogs()
		return nil, err
	}
	return a, nil
}

// copyBuffers recycles the buffers ReverseProxy and forward copy bodies
// through: without a pool ReverseProxy allocates 32 KiB per request, which
// made the garbage collector a tenth of the proxy's CPU.
type copyBuffers struct{ pool sync.Pool }

const copyBufferSize = 32 << 10

func (c *copyBuffers) Get() []byte {
	if b, ok := c.pool.Get().(*[copyBufferSize]byte); ok {
		return b[:]
	}
	return make([]byte, copyBufferSize)
}

func (c *copyBuffers) Put(b []byte) {
	if len(b) == copyBufferSize {
		c.pool.Put((*[copyBufferSize]byte)(b))
	}
}

// openFront opens the access log and, if the app has a listen address,
// binds it and loads its certificate. Without a listen address the app is
// served on the shared front port only.
func (a *app) openFront(spec *config.App) error {
	if err := a.openAccessLog(spec); err != nil {
		return err
	}
	if spec.Listen == "" {
		return nil
	}
	srv := newFrontServer(a, a.logger, a.opts.HeaderTimeout)
	if spec.TLS != nil {
		var err error
		if srv.srv.TLSConfig, err = newTLSConfig(spec.TLS); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", spec.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	a.ln, a.srv = ln, srv
	return nil
}

// closeLogs closes the app's log and access log.
func (a *app) closeLogs() {
	a.out.Close()
	if l := a.access.Load(); l != nil {
		l.Close()
	}
}

// asked returns the config last asked for, which runs unless rolling it
// out failed or is under way.
func (a *app) asked() *config.App {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.wanted
}

// update hands a changed config to run; a newer one replaces one not yet
// picked up.
func (a *app) update(spec *config.App) {
	a.mu.Lock()
	a.wanted = spec
	a.mu.Unlock()
	select {
	case <-a.updates:
	default:
	}
	a.updates <- spec
}

// start serves the front and starts the workers, until stop.
func (a *app) start() {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	p := newPool(a.asked(), a.out, a.logger, a.metrics, a.opts)
	p.start()
	a.pool.Store(p)
	go a.run(ctx)
}

// stop stops the app; wait for done. The listener is closed at once, so
// that the port is free for an app taking it over.
func (a *app) stop() {
	a.cancel() // first, so that Serve's error on the closed listener is expected
	if a.ln != nil {
		a.ln.Close()
	}
}

func (a *app) run(ctx context.Context) {
	defer close(a.done)
	served := make(chan struct{})
	go func() {
		defer close(served)
		if a.srv == nil {
			return
		}
		if err := a.srv.Serve(a.ln); !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil {
			a.logger.Error("Front proxy stopped", "err", err)
		}
	}()
	for {
		select {
		case spec := <-a.updates:
			a.rollOut(ctx, spec)
		case <-ctx.Done():
			a.shutdown()
			<-served
			return
		}
	}
}

// shutdown lets the requests in flight finish (they are bounded by the
// request timeout), then stops the workers.
func (a *app) shutdown() {
	spec := a.pool.Load().spec
	timeout := time.Duration(spec.RequestTimeout)
	if timeout == 0 {
		timeout = time.Duration(spec.StopTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	// An app served on the shared front only has no server of its own;
	// stopping the pool drains its workers' requests in flight there.
	if a.srv != nil {
		// stop has closed the listener already, which Shutdown reports
		// again: only its context ending means requests were cut off.
		if err := a.srv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
			a.logger.Warn("Front proxy stopped with requests in flight", "err", err)
			a.srv.Close()
		}
	}
	a.pool.Load().stop()
	a.transport.CloseIdleConnections()
	a.closeLogs()
}

// openAccessLog opens the access log if spec wants one and it is not open
// yet, and sets its rotation size. The file stays open when a reload turns
// the log off; the proxy then writes nothing to it.
func (a *app) openAccessLog(spec *config.App) error {
	if l := a.access.Load(); l != nil {
		l.setMaxSize(int64(spec.LogMaxSize))
		return nil
	}
	if spec.AccessLog == config.AccessLogOff {
		return nil
	}
	l, err := openLogFile(accessLogPath(a.opts.LogDir, a.name), int64(spec.LogMaxSize))
	if err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	a.access.Store(l)
	return nil
}

// rollOut replaces the workers with ones running spec without failing a
// request: the new workers start and pass their health checks while the
// old ones serve, then take over, and the old ones are drained and
// stopped. If the new workers do not all come up within the start
// timeout, they are stopped and the old ones keep serving.
func (a *app) rollOut(ctx context.Context, spec *config.App) {
	old := a.pool.Load()
	a.out.setMaxSize(int64(spec.LogMaxSize))
	if err := a.openAccessLog(spec); err != nil {
		a.logger.Error("Cannot open the access log; requests are not logged", "err", err)
	}
	next := newPool(spec, a.out, a.logger, a.metrics, a.opts)
	next.start()
	// Each worker has the start timeout for each attempt; the whole pool
	// gets a few attempts' worth.
	t := time.NewTimer(3 * time.Duration(spec.HealthCheck.StartTimeout))
	defer t.Stop()
	select {
	case <-next.allReady:
	case <-t.C:
		a.logger.Error("New workers did not become healthy; keeping the running ones",
			"start_timeout", time.Duration(spec.HealthCheck.StartTimeout))
		next.stop()
		return
	case <-ctx.Done():
		next.stop()
		return
	}
	a.pool.Store(next)
	old.stop()
	a.logger.Info("App reloaded", "workers", spec.Workers)
}
