package apphost

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load sends requests from clients goroutines, perClient each, and returns
// how many failed and the first failure.
func (th *testHost) load(url string, clients, perClient int) (failed int64, first error) {
	var n atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range perClient {
				resp, err := th.client.Get(url)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					n.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok {
		first = e
	}
	return n.Load(), first
}

// TestRecycleMaxRequests sends many times max_requests requests: the
// workers are replaced again and again, and not one request fails.
func TestRecycleMaxRequests(t *testing.T) {
	th := startHost(t, Options{})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, "workers: 2\nmax_requests: 100\n"))
	th.Update(nil, th.dir)
	first := th.waitReady("echo", 2)

	// Rounds of 200 requests until the workers have been recycled
	// several times: how many requests an old worker serves while its
	// replacement comes up depends on how fast the proxy and the machine
	// are, so a fixed number of requests does not make a fixed number of
	// recycles.
	const clients, perClient = 4, 50
	recycles := func() float64 {
		return th.metric("argus_app_worker_recycles_total", "app", "echo", "worker", "0", "reason", "max_requests") +
			th.metric("argus_app_worker_recycles_total", "app", "echo", "worker", "1", "reason", "max_requests")
	}
	var sent, failed int64
	var firstErr error
	for deadline := time.Now().Add(time.Minute); recycles() < 5; {
		if time.Now().After(deadline) {
			t.Fatalf("%v recycles after %d requests, want 5", recycles(), sent)
		}
		n, err := th.load(fmt.Sprintf("http://127.0.0.1:%d/load", port), clients, perClient)
		sent, failed = sent+clients*perClient, failed+n
		if firstErr == nil {
			firstErr = err
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d requests failed while workers were recycled; first: %v", failed, sent, firstErr)
	}
	now := th.waitReady("echo", 2)
	for id, pid := range first {
		if now[id] == pid {
			t.Errorf("worker %d still runs its first process %d", id, pid)
		}
		waitFor(t, "the recycled process to exit", func() bool { return !alive(pid) })
	}
	if n := th.metric("argus_app_worker_restarts_total", "app", "echo"); n != 0 {
		t.Errorf("restarts = %v; recycling is not a restart", n)
	}
}

// TestRecycleMaxRSS makes a worker grow past max_rss: it is replaced by a
// new process and the old one is stopped.
func TestRecycleMaxRSS(t *testing.T) {
	th := startHost(t, Options{RecycleCheckInterval: 50 * time.Millisecond})
	port := freeTestPort(t)
	th.writeApp("echo.yml", echoApp(port, "max_rss: 100MiB\n"))
	th.Update(nil, th.dir)
	before := th.waitReady("echo", 1)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, body := th.get(url + "/grow?mb=150"); code != http.StatusOK {
		t.Fatalf("GET /grow: %d %s", code, body)
	}
	waitFor(t, "the grown worker to be replaced", func() bool { return th.waitReady("echo", 1)[0] != before[0] })
	waitFor(t, "the grown process to exit", func() bool { return !alive(before[0]) })
	if n := th.metric("argus_app_worker_recycles_total", "app", "echo", "worker", "0", "reason", "max_rss"); n != 1 {
		t.Errorf("recycles{reason=max_rss} = %v, want 1", n)
	}
	if code, _ := th.get(url + "/"); code != http.StatusOK {
		t.Errorf("after the recycle: %d", code)
	}
}
