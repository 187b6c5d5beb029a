// Package rawsock reads and writes a connection's non-blocking socket with
// raw system calls, waiting through the connection's poller (and so its
// deadlines) only when the socket is not ready. The scraper's client and the
// app host's front server and worker connections use it.
//
// Why: net.Conn's Read and Write enter the system call through the
// scheduler's entersyscall, which wakes the runtime's monitor thread
// (sysmon) if it sleeps; once woken it polls every 20 µs for as long as any
// goroutine runs, and its short sleeps are context switches on the cores
// the process shares. A scraper idle between scrapes woke it at every
// scrape (a fifth of the process's CPU), and a proxy makes four socket
// calls per request. Calls on a non-blocking socket return at once, so the
// scheduler need not know about them, as it need not for the runtime's own
// epoll and futex calls.
//
// Race-detector builds, and systems other than Linux, use the connection
// itself: the detector learns of the ordering a socket gives (a write
// happens before the read that sees it) only from the standard library's
// system call wrappers.
package rawsock
