// Package apphost runs small HTTP apps under argus, the way uWSGI's emperor
// and nginx would together, and measures every request.
//
// A Host is given the apps of the config file and a drop-in directory of
// app files (Update). Run supervises them until its context ends: each app
// gets a front proxy on its own listen address, a route by host name and
// path prefix on the shared front port (SetFront), or both, and Workers
// processes of its command, each told where to listen by its listen mode: a
// free loopback port in $PORT, a unix socket path in $ARGUS_SOCKET (under
// <LogDir>/<app>/), or a loopback socket argus already listens on, handed
// over as fd 3 as systemd socket activation does. A worker receives
// requests once its health check passes, and is restarted if it fails
// health_check.failures checks in a row later; one that exits is restarted with
// exponential backoff; one that does not answer within the request timeout
// is killed and restarted (uWSGI's harakiri); one past max_requests or
// max_rss is recycled: a new process takes over once healthy and the old
// one is drained. Stopping sends SIGTERM to the
// worker's process group, then SIGKILL after the stop timeout. Worker output
// goes to <LogDir>/<app>.log and one line per request to
// <LogDir>/<app>.access.log, both rotated by size. Front ports serve
// HTTPS and HTTP/2 when given a certificate. The drop-in directory is
// polled: adding, changing or removing a file starts, reloads or stops that
// app only; a change starts and health-checks new workers before the old
// ones are drained and stopped, so no request fails.
//
// An app's own plain (not TLS) port is served on Linux by event loops,
// one per two processors, each waiting in epoll for its client and worker
// connections (loop_linux.go): a plain HTTP/1.1 request whose body has
// arrived, with a worker ready at once, goes to the worker and its
// response back to the client without a goroutine, the loop's writes
// held to the end of each wake-up. A connection with any other request
// is handed, with the bytes already read, to the goroutine server below.
// Other plain front ports (the shared one, and every port elsewhere)
// read their clients' HTTP/1.x requests with a server of their own
// (frontServer), one goroutine per connection with reused buffers; the
// first request it does not take (an upgrade, HTTP/2, Expect, a chunked
// or large body, a malformed head) hands the connection, with the bytes
// already read, to net/http's server, which also serves TLS ports. The proxy passes plain HTTP/1.x requests on with a small
// HTTP/1.1 client of its own (forward) over kept-alive connections to each
// worker; protocol upgrades, HTTP/2 clients, Expect: 100-continue and
// chunked or large request bodies go through httputil.ReverseProxy.
//
// The proxy and supervisor record argus_app_* metrics on the Registerer
// given to New; per-worker CPU, memory and descriptors are read from /proc
// when the metrics are collected.
//
// Update, SetFront, Status and Problems may be called from any goroutine; Run is
// called once. The package imports internal/config only.
package apphost
