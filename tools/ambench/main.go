// Command ambench puts argus's alert manager and Debian's Alertmanager under
// the same alert load, one after the other, on loopback, and prints a
// Markdown report for docs/benchmarks.md:
//
//   - the load: -rate distinct alerts per second for -duration, posted to
//     /api/v2/alerts in batches of -batch, with a routing tree of -routes
//     routes (each matching one team, ten webhook receivers, grouped by
//     alertname and team);
//   - CPU time and peak RSS of the server process over the run;
//   - notification latency: for each aggregation group, the time from the
//     post of its first alert to its first webhook notification, less
//     group_wait (so it is the servers' own delay);
//   - posts that failed or fell behind.
//
// Usage:
//
//	make build && go run ./tools/ambench -argus ./argus [-rate 10000 -duration 60s]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	argus, alertmanager string
	rate, batch, routes int
	duration, groupWait time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.argus, "argus", "./argus", "argus binary")
	flag.StringVar(&o.alertmanager, "alertmanager", "prometheus-alertmanager", "Alertmanager binary (Debian's prometheus-alertmanager)")
	flag.IntVar(&o.rate, "rate", 10000, "distinct alerts posted per second")
	flag.IntVar(&o.batch, "batch", 500, "alerts per POST")
	flag.IntVar(&o.routes, "routes", 100, "routes in the routing tree")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to post")
	flag.DurationVar(&o.groupWait, "group-wait", time.Second, "group_wait of the routes")
	systems := flag.String("systems", "argus,Alertmanager", "which servers to run, comma-separated")
	flag.Parse()
	log.SetFlags(0)

	sink := newSink()
	srv := &http.Server{Handler: sink}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	cfg := config(o, "http://"+l.Addr().String()+"/hook")

	var results []result
	for _, sys := range strings.Split(*systems, ",") {
		sink.reset()
		r, err := run(o, sys, cfg, sink)
		if err != nil {
			log.Fatalf("%s: %v", sys, err)
		}
		results = append(results, r)
	}
	report(o, results)
}

// config is the alertmanager.yml both servers get.
func config(o options, url string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "route:\n  receiver: default\n  group_by: [alertname, team]\n  group_wait: %s\n  group_interval: 10s\n  repeat_interval: 4h\n  routes:\n", o.groupWait)
	for i := range o.routes {
		fmt.Fprintf(&b, "    - matchers: ['team=\"t%d\"']\n      receiver: r%d\n", i, i%10)
	}
	fmt.Fprintf(&b, "receivers:\n  - name: default\n    webhook_configs: [{url: '%s', max_alerts: 10}]\n", url)
	for i := range 10 {
		fmt.Fprintf(&b, "  - name: r%d\n    webhook_configs: [{url: '%s', max_alerts: 10}]\n", i, url)
	}
	return b.String()
}

type result struct {
	system                string
	posted, failedPosts   int64
	behind                time.Duration
	cpu                   time.Duration
	peakRSS               int64
	groups, notifications int
	p50, p90, p99, maxLat time.Duration
	unnotified            int
}

func run(o options, sys, cfg string, s *sink) (result, error) {
	dir, err := os.MkdirTemp("", "ambench")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return result{}, err
	}
	addr := freeAddr()
	var cmd *exec.Cmd
	if sys == "argus" {
		if port := os.Getenv("AMBENCH_ARGUS_ADDR"); port != "" {
			addr = port // fixed, for profiling
		}
		cmd = exec.Command(o.argus, "server", "--alertmanager.config", cfgFile, "--data", filepath.Join(dir, "data"), "--listen", addr, "--log.level", "warn")
	} else {
		cmd = exec.Command(o.alertmanager, "--config.file", cfgFile, "--storage.path", filepath.Join(dir, "data"),
			"--web.listen-address", addr, "--cluster.listen-address=", "--log.level=warn")
	}
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	if err := waitReady(base); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "log"))
		return result{}, fmt.Errorf("%w\n%s", err, b)
	}
	cpu0 := cpuTime(cmd.Process.Pid)
	r := result{system: sys}
	firstPost := load(o, base, &r)
	// Let the last groups wait out group_wait and notify.
	time.Sleep(o.groupWait + 5*time.Second)
	r.cpu = cpuTime(cmd.Process.Pid) - cpu0
	r.peakRSS = peakRSS(cmd.Process.Pid)
	lat, notifs, missing := s.latencies(firstPost, o.groupWait)
	r.groups, r.notifications, r.unnotified = len(firstPost), notifs, missing
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		r.p50, r.p90, r.p99, r.maxLat = q(0.5), q(0.9), q(0.99), lat[len(lat)-1]
	}
	return r, nil
}

// load posts the alerts and returns when each group's first alert was
// posted.
func load(o options, base string, r *result) map[string]time.Time {
	client := &http.Client{Timeout: 30 * time.Second}
	first := map[string]time.Time{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	batches := o.rate / o.batch
	interval := time.Second / time.Duration(max(batches, 1))
	start := time.Now()
	end := start.Add(o.duration)
	var failed, posted atomic.Int64
	i := 0
	for next := start; next.Before(end); next = next.Add(interval) {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else if -d > r.behind {
			r.behind = -d
		}
		alerts := make([]map[string]any, o.batch)
		now := time.Now()
		mu.Lock()
		for j := range alerts {
			i++
			name, team := "A"+strconv.Itoa(i%50), "t"+strconv.Itoa(i%(o.routes+20))
			alerts[j] = map[string]any{
				"labels":      map[string]string{"alertname": name, "team": team, "instance": "host-" + strconv.Itoa(i), "severity": "warning"},
				"annotations": map[string]string{"summary": "load test alert " + strconv.Itoa(i)},
			}
			key := name + "/" + team
			if _, ok := first[key]; !ok {
				first[key] = now
			}
		}
		mu.Unlock()
		body, _ := json.Marshal(alerts)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			resp, err := client.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(body))
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
				if resp != nil {
					resp.Body.Close()
				}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			posted.Add(int64(o.batch))
		})
	}
	wg.Wait()
	r.posted, r.failedPosts = posted.Load(), failed.Load()
	return first
}

// sink is the webhook receiver: it notes when each group is first
// notified.
type sink struct {
	mu    sync.Mutex
	first map[string]time.Time
	n     int
}

func newSink() *sink { return &sink{first: map[string]time.Time{}} }

func (s *sink) reset() {
	s.mu.Lock()
	s.first, s.n = map[string]time.Time{}, 0
	s.mu.Unlock()
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var msg struct {
		GroupLabels map[string]string `json:"groupLabels"`
	}
	json.NewDecoder(r.Body).Decode(&msg)
	key := msg.GroupLabels["alertname"] + "/" + msg.GroupLabels["team"]
	s.mu.Lock()
	s.n++
	if _, ok := s.first[key]; !ok {
		s.first[key] = now
	}
	s.mu.Unlock()
}

func (s *sink) latencies(firstPost map[string]time.Time, groupWait time.Duration) ([]time.Duration, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	missing := 0
	for key, posted := range firstPost {
		got, ok := s.first[key]
		if !ok {
			missing++
			continue
		}
		out = append(out, got.Sub(posted)-groupWait)
	}
	return out, s.n, missing
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become ready", base)
}

// cpuTime returns the user+system CPU time of pid from /proc.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// peakRSS returns VmHWM of pid in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func report(o options, rs []result) {
	fmt.Printf("%d distinct alerts/s in batches of %d for %s, %d routes, group_wait %s; webhook sink on loopback.\n\n",
		o.rate, o.batch, o.duration, o.routes, o.groupWait)
	fmt.Println("| system | alerts posted | failed posts | max post lag | CPU s | CPU µs/alert | peak RSS MiB | groups | notifications | groups never notified | latency p50 | p90 | p99 | max |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		perAlert := 0.0
		if r.posted > 0 {
			perAlert = float64(r.cpu.Microseconds()) / float64(r.posted)
		}
		fmt.Printf("| %s | %d | %d | %s | %.1f | %.1f | %.0f | %d | %d | %d | %s | %s | %s | %s |\n",
			r.system, r.posted, r.failedPosts, r.behind.Round(time.Millisecond), r.cpu.Seconds(), perAlert,
			float64(r.peakRSS)/(1<<20), r.groups, r.notifications, r.unnotified,
			r.p50.Round(time.Millisecond), r.p90.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.maxLat.Round(time.Millisecond))
	}
}
