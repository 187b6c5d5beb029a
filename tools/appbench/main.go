// Command appbench measures argus's app host front proxy against Debian's
// nginx as a reverse proxy, in one run on loopback, and prints a Markdown
// report for docs/benchmarks.md. The app is tools/appbench/hello, a trivial
// Go HTTP server; it is reached three ways:
//
//   - direct: one hello process;
//   - argus: `argus server` hosting hello (one worker) as an app;
//   - nginx: nginx with another hello process as a keepalive upstream,
//     setting the forwarding fields argus's proxy sets (Host, X-Forwarded-For,
//     -Host and -Proto), so that the app reads the same request behind both.
//
// For each, two measurements:
//
//   - throughput: wrk with -connections connections for -duration (wrk
//     has no fixed-rate mode), requests/s and its latency percentiles, and
//     the CPU time per request of the target's own processes (argus
//     without its worker, nginx's master and workers, the app for direct),
//     which other jobs on a shared machine disturb less than requests/s;
//   - latency at a fixed rate: an open-loop generator in this program sends
//     -rate requests/s for -duration, each timed from when it was due (so a
//     stall counts against every request it delays, as in wrk2).
//
// The wrk runs and the fixed-rate runs are two phases. In the first,
// each of -rounds rounds runs wrk against every target (a fourth with
// -baseline) back to back, in an order that rotates from round to round;
// in the second, each of -rate-rounds rounds runs the fixed-rate
// generator against every target. On
// a shared machine one run's figures move as much as the difference
// between the proxies, and the other jobs' load drifts from minute to
// minute: a ratio taken between runs a few seconds apart carries less of
// that drift than one between runs a minute apart, and many rounds give
// the median of the ratios a confidence interval (distribution-free: the
// order statistics that cover the median with 95% probability).
//
// Needs wrk and nginx (apt-get install wrk nginx). Usage:
//
//	make build && go run ./tools/appbench -argus ./argus [-duration 5s -rounds 15 -rate 5000]
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	argus, baseline, nginx, wrk, profile string
	duration, rateDuration               time.Duration
	connections, threads, rate           int
	rounds, rateRounds                   int
}

// result is what one wrk run measured.
type result struct {
	name           string
	wrkRPS         float64
	wrkP50, wrkP99 time.Duration
	// cpuPerReq is the CPU time the target's own processes used per
	// request during the wrk run: on a shared machine, less at the mercy
	// of other jobs than requests/s. appCPUPerReq is the app's behind it.
	cpuPerReq, appCPUPerReq time.Duration
}

// rateResult is what one fixed-rate run measured.
type rateResult struct {
	name          string
	rps           float64 // achieved
	p50, p99, max time.Duration
	errors        int
}

func main() {
	var o options
	flag.StringVar(&o.argus, "argus", "./argus", "argus binary")
	flag.StringVar(&o.baseline, "baseline", "", "another argus binary (an earlier build, say) measured in the same rounds as \"argus-base\"; the report gives argus / argus-base")
	flag.StringVar(&o.nginx, "nginx", "nginx", "nginx binary (Debian's nginx)")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary (Debian's wrk)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each wrk run")
	flag.DurationVar(&o.rateDuration, "rate-duration", 10*time.Second, "length of each fixed-rate run")
	flag.IntVar(&o.connections, "connections", 64, "wrk connections")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.IntVar(&o.rate, "rate", 5000, "requests/s of the fixed-rate run")
	flag.StringVar(&o.profile, "profile", "", "write a CPU profile of argus during its first wrk run to this file")
	flag.IntVar(&o.rounds, "rounds", 15, "rounds of wrk runs, each of every target back to back, in an order that rotates")
	flag.IntVar(&o.rateRounds, "rate-rounds", 3, "rounds of fixed-rate runs, each of every target, in an order that rotates")
	flag.Parse()
	log.SetFlags(0)

	dir, err := os.MkdirTemp("", "appbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	hello := filepath.Join(dir, "hello")
	if out, err := exec.Command("go", "build", "-o", hello, "./tools/appbench/hello").CombinedOutput(); err != nil {
		log.Fatalf("build hello: %v\n%s", err, out)
	}

	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			stop(p)
		}
	}()
	start := func(name string, cmd *exec.Cmd) *exec.Cmd {
		f, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			log.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			log.Fatalf("start %s: %v", name, err)
		}
		procs = append(procs, cmd)
		return cmd
	}

	// One hello process for direct and another behind nginx, as argus
	// runs one of its own: each app process serves one target's traffic
	// only, so that none carries the heap and goroutines another target's
	// load left in it.
	startHello := func(name string) (*exec.Cmd, string) {
		addr := freeAddr()
		cmd := exec.Command(hello)
		cmd.Env = append(os.Environ(), "PORT="+portOf(addr))
		return start(name, cmd), addr
	}
	app, appAddr := startHello("hello")
	nginxApp, nginxAppAddr := startHello("hello-nginx")

	// startArgus starts an argus binary hosting hello (one worker) on an
	// address of its own, and returns it, that address and argus's own.
	startArgus := func(name, bin string) (*exec.Cmd, string, string) {
		addr, appAddr := freeAddr(), freeAddr()
		cfg := filepath.Join(dir, name+".yml")
		// Access logs off on both sides, as in the nginx config below:
		// each costs a write per request. Auth off: -profile reads
		// /debug/pprof, which needs the admin role otherwise.
		write(cfg, fmt.Sprintf("auth: {enabled: false}\ncollectors:\n  node: {enabled: false}\n  process: {enabled: false}\n"+
			"apps:\n  - name: hello\n    command: %s\n    workers: 1\n    listen: %s\n    access_log: \"off\"\n", hello, appAddr))
		return start(name, exec.Command(bin, "server", "--config", cfg, "--data", filepath.Join(dir, name+"-data"), "--listen", addr)), appAddr, addr
	}
	argus, argusApp, argusAddr := startArgus("argus", o.argus)

	nginxAddr := freeAddr()
	ngDir := filepath.Join(dir, "nginx")
	os.MkdirAll(filepath.Join(ngDir, "logs"), 0o755)
	write(filepath.Join(ngDir, "nginx.conf"), nginxConf(ngDir, nginxAddr, nginxAppAddr, o.connections))
	nginx := start("nginx", exec.Command(o.nginx, "-p", ngDir, "-c", filepath.Join(ngDir, "nginx.conf")))

	targets := []struct{ name, addr string }{{"direct", appAddr}, {"argus", argusApp}, {"nginx", nginxAddr}}
	var base *exec.Cmd
	if o.baseline != "" {
		var baseApp string
		base, baseApp, _ = startArgus("argus-base", o.baseline)
		targets = append(targets, struct{ name, addr string }{"argus-base", baseApp})
	}
	for _, t := range targets {
		waitUp("http://" + t.addr + "/")
	}
	// argus alone, not the worker it runs (its child); nginx's workers
	// and master; the app itself for direct. The app behind each: its
	// own hello process for nginx, argus's worker for argus.
	pids := map[string][]int{
		"direct": {app.Process.Pid},
		"argus":  {argus.Process.Pid},
		"nginx":  append([]int{nginx.Process.Pid}, children(nginx.Process.Pid)...),
	}
	apps := map[string][]int{"direct": nil, "argus": children(argus.Process.Pid), "nginx": {nginxApp.Process.Pid}}
	if base != nil {
		pids["argus-base"], apps["argus-base"] = []int{base.Process.Pid}, children(base.Process.Pid)
	}
	// Each round measures every target, in an order that rotates, so that
	// the machine's drift (other jobs, a warming cache) does not fall on
	// one target; the report takes medians over the rounds.
	rounds := make([][]result, o.rounds)
	for round := range rounds {
		for k := range targets {
			t := targets[(k+round)%len(targets)]
			r := result{name: t.name}
			var prof sync.WaitGroup
			if t.name == "argus" && o.profile != "" && round == 0 {
				prof.Go(func() { profile("http://"+argusAddr, o.duration, o.profile) })
			}
			cpu0, app0 := cpuTime(pids[t.name]), cpuTime(apps[t.name])
			t0 := time.Now()
			r.wrkRPS, r.wrkP50, r.wrkP99 = runWrk(o, "http://"+t.addr+"/")
			if n := r.wrkRPS * time.Since(t0).Seconds(); n > 0 {
				r.cpuPerReq = time.Duration(float64(cpuTime(pids[t.name])-cpu0) / n)
				r.appCPUPerReq = time.Duration(float64(cpuTime(apps[t.name])-app0) / n)
			}
			prof.Wait()
			log.Printf("round %d %s: wrk %.0f req/s p99 %v", round+1, t.name, r.wrkRPS, r.wrkP99)
			rounds[round] = append(rounds[round], r)
			time.Sleep(time.Second) // let sockets in TIME_WAIT and the GC settle
		}
	}
	rateRounds := make([][]rateResult, o.rateRounds)
	for round := range rateRounds {
		for k := range targets {
			t := targets[(k+round)%len(targets)]
			r := rateResult{name: t.name}
			r.rps, r.p50, r.p99, r.max, r.errors = fixedRate("http://"+t.addr+"/", o.rate, o.rateDuration)
			log.Printf("rate round %d %s: at %d/s p99 %v", round+1, t.name, o.rate, r.p99)
			rateRounds[round] = append(rateRounds[round], r)
			time.Sleep(time.Second)
		}
	}
	report(os.Stdout, o, rounds, rateRounds)
}

func nginxConf(dir, listen, upstream string, conns int) string {
	return fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    upstream app {
        server %[2]s;
        keepalive %[4]d;
    }
    server {
        listen %[3]s;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The fields argus's proxy sets on every request, so that
            # the app behind either proxy reads the same request.
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
}
`, dir, upstream, listen, conns)
}

// runWrk runs wrk against url and returns its requests/s and its p50 and
// p99 latency.
func runWrk(o options, url string) (float64, time.Duration, time.Duration) {
	out, err := exec.Command(o.wrk, "-t", strconv.Itoa(o.threads), "-c", strconv.Itoa(o.connections),
		"-d", fmt.Sprintf("%ds", int(o.duration.Seconds())), "--latency", url).CombinedOutput()
	if err != nil {
		log.Fatalf("wrk: %v\n%s", err, out)
	}
	s := string(out)
	if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: .*`).FindString(s); m != "" {
		log.Printf("wrk against %s: %s", url, m)
	}
	rps := 0.0
	if m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindStringSubmatch(s); m != nil {
		rps, _ = strconv.ParseFloat(m[1], 64)
	}
	pct := func(p string) time.Duration {
		m := regexp.MustCompile(`(?m)^\s+` + p + `%\s+([0-9.]+)(us|ms|s)\s*$`).FindStringSubmatch(s)
		if m == nil {
			log.Fatalf("no %s%% latency in wrk's output:\n%s", p, s)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
		return time.Duration(v * float64(unit))
	}
	return rps, pct("50"), pct("99")
}

// fixedRate sends rate requests/s to url for d, open loop: each request
// starts when due whether or not earlier ones have finished, and its
// latency runs from when it was due. It returns the rate achieved, the
// p50, p99 and max latency, and the number of failed requests.
func fixedRate(url string, rate int, d time.Duration) (float64, time.Duration, time.Duration, time.Duration, int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	n := int(float64(rate) * d.Seconds())
	lat := make([]time.Duration, n)
	failed := make([]bool, n)
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	begin := time.Now()
	// A few senders, each taking every k-th slot, keep up with the schedule
	// without a goroutine per tick.
	senders := max(4, runtime.GOMAXPROCS(0)*4)
	for s := range senders {
		wg.Go(func() {
			var inner sync.WaitGroup
			for i := s; i < n; i += senders {
				due := begin.Add(time.Duration(i) * interval)
				time.Sleep(time.Until(due))
				inner.Go(func() {
					resp, err := client.Get(url)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					}
					lat[i], failed[i] = time.Since(due), err != nil
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	errs := 0
	for _, f := range failed {
		if f {
			errs++
		}
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(n-1, int(p*float64(n)))] }
	return float64(n) / elapsed.Seconds(), q(0.50), q(0.99), lat[n-1], errs
}

// profile saves a CPU profile of the server at base over d.
func profile(base string, d time.Duration, file string) {
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())))
	if err != nil {
		log.Printf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		log.Printf("profile: %v", err)
	}
}

func report(w io.Writer, o options, rounds [][]result, rateRounds [][]rateResult) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)) }
	names := []string{"direct", "argus", "nginx"}
	if o.baseline != "" {
		names = append(names, "argus-base")
	}
	fmt.Fprintf(w, "| round | target | wrk req/s (%d conn, %v) | wrk p50 | wrk p99 | CPU µs/req | app CPU µs/req |\n", o.connections, o.duration)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	var ratios, cpuRatios, baseRatios, baseCPU []float64
	for i, rs := range rounds {
		by := map[string]result{}
		for _, r := range rs {
			by[r.name] = r
		}
		for _, name := range names {
			r := by[name]
			app := us(r.appCPUPerReq)
			if name == "direct" {
				app = "-"
			}
			fmt.Fprintf(w, "| %d | %s | %.0f | %s | %s | %s | %s |\n", i+1, name, r.wrkRPS, ms(r.wrkP50), ms(r.wrkP99), us(r.cpuPerReq), app)
		}
		a, n := by["argus"], by["nginx"]
		ratios = append(ratios, a.wrkRPS/n.wrkRPS)
		cpuRatios = append(cpuRatios, float64(a.cpuPerReq)/float64(n.cpuPerReq))
		if b, ok := by["argus-base"]; ok {
			baseRatios = append(baseRatios, a.wrkRPS/b.wrkRPS)
			baseCPU = append(baseCPU, float64(a.cpuPerReq)/float64(b.cpuPerReq))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| round | target | at %d req/s (%v): achieved req/s | p50 | p99 | max | failed |\n", o.rate, o.rateDuration)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	var added, addedNginx []float64
	var failed int
	for i, rs := range rateRounds {
		by := map[string]rateResult{}
		for _, r := range rs {
			by[r.name] = r
			failed += r.errors
		}
		for _, name := range names {
			r := by[name]
			fmt.Fprintf(w, "| %d | %s | %.0f | %s | %s | %s | %d |\n", i+1, name, r.rps, ms(r.p50), ms(r.p99), ms(r.max), r.errors)
		}
		d, a, n := by["direct"], by["argus"], by["nginx"]
		added = append(added, float64(a.p99-d.p99)/float64(time.Millisecond))
		addedNginx = append(addedNginx, float64(n.p99-d.p99)/float64(time.Millisecond))
	}
	list := func(xs []float64, f string) string {
		parts := make([]string, len(xs))
		for i, x := range xs {
			parts[i] = fmt.Sprintf(f, x)
		}
		return strings.Join(parts, ", ")
	}
	ci := func(xs []float64) string {
		lo, hi, ok := medianCI(xs)
		if !ok {
			return "too few rounds for a 95% interval"
		}
		return fmt.Sprintf("95%% interval %.2f-%.2f", lo, hi)
	}
	above := 0
	for _, r := range ratios {
		if r >= 1 {
			above++
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- throughput argus / nginx, each round: %s; median **%.2f** (%s); argus ahead in %d of %d rounds\n",
		list(ratios, "%.2f"), median(ratios), ci(ratios), above, len(ratios))
	fmt.Fprintf(w, "- CPU per request of the proxy's own processes, argus / nginx, each round: %s; median %.2f (%s)\n",
		list(cpuRatios, "%.2f"), median(cpuRatios), ci(cpuRatios))
	if len(baseRatios) > 0 {
		fmt.Fprintf(w, "- throughput argus / argus-base, each round: %s; median **%.2f** (%s); CPU per request median %.2f (%s)\n",
			list(baseRatios, "%.2f"), median(baseRatios), ci(baseRatios), median(baseCPU), ci(baseCPU))
	}
	fmt.Fprintf(w, "- added p99 at %d req/s (p99 minus direct's in the same round): argus %s ms, median **%.2f ms**; nginx %s ms, median %.2f ms\n",
		o.rate, list(added, "%.2f"), median(added), list(addedNginx, "%.2f"), median(addedNginx))
	fmt.Fprintf(w, "- failed requests in the fixed-rate runs: %d\n", failed)
}

// medianCI returns a distribution-free 95% confidence interval for the
// median of the population xs are drawn from: the k-th smallest and k-th
// largest of xs, for the largest k such that fewer than k of n samples
// fall below the median with probability at most 2.5% (a binomial with
// p = 1/2). It needs at least 6 samples.
func medianCI(xs []float64) (lo, hi float64, ok bool) {
	n := len(xs)
	// cum is P(Binomial(n, 1/2) <= j), c is C(n, j).
	k, cum, c := 0, 0.0, 1.0
	for j := 0; j < n; j++ {
		cum += c * math.Pow(0.5, float64(n))
		if cum > 0.025 {
			break
		}
		k = j + 1 // P(X <= j) <= 2.5%: the (j+1)-th smallest bounds the median below
		c = c * float64(n-j) / float64(j+1)
	}
	if k == 0 {
		return 0, 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[k-1], s[n-k], true
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cpuTime returns the user and system CPU time the processes have used,
// from /proc (in clock ticks of 10 ms, USER_HZ on Linux).
func cpuTime(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name, in parentheses, may hold spaces: the
		// fields counted here come after its closing one.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return total
}

// children returns the pids of the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if p, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// waitUp waits until url answers 200.
func waitUp(url string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			log.Fatalf("%s did not answer 200 within a minute: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM to a process group and SIGKILL after 10s.
func stop(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func write(path, s string) {
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		log.Fatal(err)
	}
}
