package integration_test

// BenchmarkSideBySide measures what an integration instance costs, in CPU
// and memory, against the Debian exporter that does the same job, with
// many instances of each type reading one local server (issue 12). It
// needs an argus binary and runs only when ARGUS_BIN names one:
//
//	make bench-integrations
//
// which is
//
//	make build && ARGUS_BIN=$PWD/argus go test ./internal/integration \
//	    -run '^$' -bench SideBySide -benchtime 1x -timeout 90m | tee sidebyside.txt
//
// (about 20 minutes). Sub-benchmarks are the types (-bench 'SideBySide/redis'). The
// environment sets the shape of a run: ARGUS_INTBENCH_INSTANCES (50),
// ARGUS_INTBENCH_INTERVAL (5s), ARGUS_INTBENCH_WARMUP (10s) and
// ARGUS_INTBENCH_WINDOW (50s). It prints a Markdown table per type.
//
// For each type one server is started on loopback, then three phases run
// one after the other, each a warm-up and a measured window:
//
//  1. idle: the server alone, and an argus with nothing to do, whose CPU
//     and RSS are the baseline subtracted from the argus of the next
//     phases, as the server's idle CPU is subtracted from its CPU in them;
//  2. argus: one argus with N integrations of the type (distinct names,
//     the same address), each collected every interval; its CPU is the
//     whole job: reading the server, turning the answer into samples and
//     storing them;
//  3. for each peer: N exporter processes (or one, or none when the peer
//     is an endpoint of the server itself), each scraped every interval
//     by an argus. The exporters' CPU is theirs alone; the scraping
//     argus's (scrape, parse, store) is reported separately, so that the
//     exporters can be compared alone (argus's figure then includes
//     storage, theirs does not) and with the scraper (both sides store
//     the same way).
//
// CPU is per collection: each process's CPU time over the window divided
// by the collections the storing argus counted in it (count_over_time of
// up). Memory is per instance: the exporters' summed, argus's growth over
// the idle argus.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// sideOptions is the shape of a run.
type sideOptions struct {
	bin                      string
	instances                int
	interval, warmup, window time.Duration
}

func readSideOptions(b *testing.B) sideOptions {
	b.Helper()
	o := sideOptions{bin: os.Getenv("ARGUS_BIN"), instances: 50, interval: 5 * time.Second,
		warmup: 10 * time.Second, window: 50 * time.Second}
	if o.bin == "" {
		b.Skip("ARGUS_BIN names no argus binary; make bench-integrations builds one and sets it")
	}
	if v := os.Getenv("ARGUS_INTBENCH_INSTANCES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ARGUS_INTBENCH_INSTANCES=%q: want a positive number", v)
		}
		o.instances = n
	}
	for _, d := range []struct {
		env string
		dst *time.Duration
	}{{"ARGUS_INTBENCH_INTERVAL", &o.interval}, {"ARGUS_INTBENCH_WARMUP", &o.warmup}, {"ARGUS_INTBENCH_WINDOW", &o.window}} {
		if v := os.Getenv(d.env); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur <= 0 {
				b.Fatalf("%s=%q: want a positive duration", d.env, v)
			}
			*d.dst = dur
		}
	}
	return o
}

// sideServer is a started server and how each side reads it.
type sideServer struct {
	// port is where the server listens; its processes are found by it.
	port int
	// integration is the YAML of one integration after its name: type,
	// address and type-specific keys, each line indented by four spaces.
	integration string
	// health is the series that is 1 when a collection read the server
	// (pg_up, probe_success); "" when the type has none (rabbitmq), and
	// then up alone says it.
	health string
	peers  []peer
}

// peer is what does the job without argus's integrations.
type peer struct {
	name string
	// procs is how many exporter processes serve the instances: one per
	// instance, 1 for all of them, or 0 when the peer is an endpoint of
	// the server itself (target).
	procs   int
	command func(listen string) *exec.Cmd
	target  string
	path    string     // the metrics path; /metrics when empty
	params  url.Values // the scrape's URL parameters
}

// sideCases are the types; each start function starts the server with
// the integrationtest helpers, which stop it when the sub-benchmark ends.
var sideCases = []struct {
	name  string
	start func(b *testing.B, o sideOptions) sideServer
}{
	{"postgres", startPostgresSide},
	{"redis", startRedisSide},
	{"memcached", startMemcachedSide},
	{"nginx", startNginxSide},
	{"probe", startProbeSide},
	{"rabbitmq", startRabbitMQSide},
	{"uwsgi", startUwsgiSide},
}

func BenchmarkSideBySide(b *testing.B) {
	o := readSideOptions(b)
	host := hostDescription()
	fmt.Printf("\n%s; %d instances per type, every %s, %s warm-up, %s measured per phase\n",
		host, o.instances, o.interval, o.warmup, o.window)
	for _, c := range sideCases {
		b.Run(c.name, func(b *testing.B) {
			// Not b.ReportAllocs: the figures are other processes'; this
			// one only starts them and reads /proc.
			srv := c.start(b, o)
			runSide(b, o, c.name, srv)
		})
	}
}

func portOf(b *testing.B, addr string) int {
	b.Helper()
	p, err := strconv.Atoi(integrationtest.Port(b, addr))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func startPostgresSide(b *testing.B, o sideOptions) sideServer {
	// Each exporter and each instance keeps a session.
	pg := integrationtest.Postgres(b, fmt.Sprintf("max_connections=%d", 3*o.instances+20))
	queries, err := filepath.Abs(filepath.Join("postgres", "testdata", "queries.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	return sideServer{
		port:        portOf(b, pg.Addr),
		integration: "type: postgres\n    dsn: " + strconv.Quote(pg.DSN()) + "\n",
		health:      "pg_up",
		peers: []peer{{
			name:  "prometheus-postgres-exporter 0.11.1",
			procs: o.instances,
			command: func(listen string) *exec.Cmd {
				// The two example queries argus produces too.
				cmd := exec.Command("prometheus-postgres-exporter", "--web.listen-address="+listen, "--extend.query-path="+queries)
				cmd.Env = append(os.Environ(), "DATA_SOURCE_NAME="+pg.DSN())
				return cmd
			},
		}},
	}
}

func startRedisSide(b *testing.B, o sideOptions) sideServer {
	addr := integrationtest.Redis(b)
	return sideServer{
		port:        portOf(b, addr),
		integration: "type: redis\n    address: " + addr + "\n",
		health:      "redis_up",
		peers: []peer{{
			name:  "prometheus-redis-exporter 1.45",
			procs: o.instances,
			command: func(listen string) *exec.Cmd {
				return exec.Command("prometheus-redis-exporter", "-redis.addr", "redis://"+addr, "-web.listen-address", listen)
			},
		}},
	}
}

func startMemcachedSide(b *testing.B, o sideOptions) sideServer {
	addr := integrationtest.Memcached(b)
	return sideServer{port: portOf(b, addr), integration: "type: memcached\n    address: " + addr + "\n", health: "memcached_up"}
}

func startNginxSide(b *testing.B, o sideOptions) sideServer {
	n := integrationtest.StartNginx(b)
	return sideServer{
		port: portOf(b, n.Addr),
		// stub_status only, as the exporter: no access log.
		integration: "type: nginx\n    address: " + n.StubStatus + "\n",
		health:      "nginx_up",
		peers: []peer{{
			name:  "prometheus-nginx-exporter 0.11",
			procs: o.instances,
			command: func(listen string) *exec.Cmd {
				return exec.Command("prometheus-nginx-exporter", "-nginx.scrape-uri", n.StubStatus, "-web.listen-address", listen)
			},
		}},
	}
}

func startProbeSide(b *testing.B, o sideOptions) sideServer {
	n := integrationtest.StartNginx(b)
	target := "http://" + n.Addr + "/api/probe"
	conf := filepath.Join(b.TempDir(), "blackbox.yml")
	if err := os.WriteFile(conf, []byte("modules:\n  http_2xx:\n    prober: http\n    timeout: 4s\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	blackbox := func(listen string) *exec.Cmd {
		return exec.Command("prometheus-blackbox-exporter", "--config.file="+conf, "--web.listen-address="+listen)
	}
	params := url.Values{"module": {"http_2xx"}, "target": {target}}
	return sideServer{
		port:        portOf(b, n.Addr),
		integration: "type: probe\n    address: " + target + "\n    module: http_2xx\n",
		health:      "probe_success",
		// blackbox_exporter probes any number of targets; it is usually
		// run once, so both ways are measured.
		peers: []peer{
			{name: "prometheus-blackbox-exporter 0.23, one process per instance", procs: o.instances, command: blackbox, path: "/probe", params: params},
			{name: "prometheus-blackbox-exporter 0.23, one process for all", procs: 1, command: blackbox, path: "/probe", params: params},
		},
	}
}

func startRabbitMQSide(b *testing.B, o sideOptions) sideServer {
	s := integrationtest.RabbitMQ(b, true)
	return sideServer{
		port:        portOf(b, s.Management),
		integration: "type: rabbitmq\n    address: " + s.Management + "\n",
		// No exporter: the broker's own plugin, in the broker's process.
		peers: []peer{{name: "the broker's rabbitmq_prometheus plugin (/metrics/per-object)", target: s.Prometheus, path: "/metrics/per-object"}},
	}
}

func startUwsgiSide(b *testing.B, o sideOptions) sideServer {
	u := integrationtest.StartUwsgi(b)
	return sideServer{port: portOf(b, u.Stats), integration: "type: uwsgi\n    address: " + u.Stats + "\n", health: "uwsgi_up"}
}

// phase is what one phase measured over its window.
type phase struct {
	wall        time.Duration
	argusCPU    time.Duration
	argusMem    memory
	serverCPU   time.Duration
	peerCPU     time.Duration // the exporters', summed
	peerMem     memory        // the exporters', summed
	collections float64       // collections (scrapes) in the window
	failed      float64       // of which failed
	samples     float64       // samples per collection
	load        [2]string     // load averages at the start and end
}

func runSide(b *testing.B, o sideOptions, name string, srv sideServer) {
	b.Helper()
	servers, err := listeners(srv.port)
	if err != nil {
		b.Fatal(err)
	}
	header := "global:\n  scrape_interval: " + o.interval.String() + "\n  scrape_timeout: " + timeoutFor(o.interval).String() +
		"\ncollectors:\n  argus: {enabled: false}\n  node: {enabled: false}\n  process: {enabled: false}\n"

	idle := runPhase(b, o, "idle", header, "", servers, nil)

	var integ strings.Builder
	integ.WriteString(header + "integrations:\n")
	for i := range o.instances {
		fmt.Fprintf(&integ, "  - name: %s-%02d\n    interval: %s\n    timeout: %s\n    %s", name, i+1, o.interval, timeoutFor(o.interval), srv.integration)
	}
	ours := runPhase(b, o, "argus", integ.String(), srv.health, servers, nil)

	var peers []phase
	for _, p := range srv.peers {
		peers = append(peers, runPeer(b, o, header, srv.health, servers, p))
	}
	report(b, o, name, srv, idle, ours, peers)
}

// timeoutFor is the timeout of both sides' collections: a second under
// the interval, or a tenth under short intervals. (blackbox_exporter
// gives its probes the scrape's timeout less half a second.)
func timeoutFor(interval time.Duration) time.Duration {
	if interval > 2*time.Second {
		return interval - time.Second
	}
	return interval * 9 / 10
}

// runPeer starts the peer's exporters, has an argus scrape them, and
// stops them when measured.
func runPeer(b *testing.B, o sideOptions, header, health string, servers []int, p peer) phase {
	b.Helper()
	dir := b.TempDir()
	var exporters []*child
	defer func() {
		for _, c := range exporters {
			c.stop()
		}
	}()
	var addrs []string
	for i := range p.procs {
		listen := integrationtest.FreeAddr(b)
		cmd := p.command(listen)
		exporters = append(exporters, startChild(b, cmd, filepath.Join(dir, fmt.Sprintf("exporter-%02d.log", i+1)), listen, "/metrics"))
		addrs = append(addrs, listen)
	}
	path := p.path
	if path == "" {
		path = "/metrics"
	}
	var cfg strings.Builder
	cfg.WriteString(header + "scrape_configs:\n  - job_name: peer\n    metrics_path: " + path + "\n")
	if len(p.params) > 0 {
		cfg.WriteString("    params:\n")
		for k, vs := range p.params {
			fmt.Fprintf(&cfg, "      %s: [%s]\n", k, strconv.Quote(vs[0]))
		}
	}
	cfg.WriteString("    static_configs:\n")
	for i := range o.instances {
		// One target per instance: its own exporter, or the one exporter
		// (or the server's endpoint) told apart by a label.
		addr := p.target
		if len(addrs) > 0 {
			addr = addrs[i%len(addrs)]
		}
		fmt.Fprintf(&cfg, "      - targets: [%q]\n        labels: {copy: \"%02d\"}\n", addr, i+1)
	}
	return runPhase(b, o, "peer", cfg.String(), health, servers, exporters)
}

// runPhase runs an argus with config cfg, waits the warm-up and measures
// the window: argus, the server's processes and the exporters. A
// collection failed when its scrape did or its health series is not 1.
func runPhase(b *testing.B, o sideOptions, name, cfg, health string, servers []int, exporters []*child) phase {
	b.Helper()
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "argus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	listen := integrationtest.FreeAddr(b)
	cmd := exec.Command(o.bin, "server", "--config", cfgPath, "--data", filepath.Join(dir, "data"), "--listen", listen, "--log.level", "warn")
	argus := startChild(b, cmd, filepath.Join(dir, "argus.log"), listen, "/-/ready")
	defer argus.stop()

	time.Sleep(o.warmup)
	var ph phase
	ph.load[0] = loadAverage()
	read := func() (a, s, e time.Duration) {
		a = argus.cpu(b)
		s = treeCPU(servers)
		for _, x := range exporters {
			e += x.cpu(b)
		}
		return a, s, e
	}
	a0, s0, e0 := read()
	start := time.Now()
	time.Sleep(o.window)
	a1, s1, e1 := read()
	end := time.Now()
	ph.wall = end.Sub(start)
	ph.argusCPU, ph.serverCPU, ph.peerCPU = a1-a0, s1-s0, e1-e0
	ph.load[1] = loadAverage()
	ph.argusMem = argus.memory(b)
	for _, x := range exporters {
		m := x.memory(b)
		ph.peerMem.RSS += m.RSS
		ph.peerMem.PSS += m.PSS
	}
	if name != "idle" {
		w := fmt.Sprintf("[%dms]", ph.wall.Milliseconds())
		ph.collections = query(b, listen, "sum(count_over_time(up"+w+"))", end)
		if health == "" {
			health = "up"
		}
		ph.failed = ph.collections - query(b, listen, "sum(sum_over_time("+health+w+"))", end)
		if ph.collections > 0 {
			ph.samples = query(b, listen, "sum(sum_over_time(scrape_samples_scraped"+w+"))", end) / ph.collections
		}
		if ph.collections == 0 {
			b.Fatalf("%s phase: no collection in %s; see %s", name, ph.wall, argus.log)
		}
	}
	return ph
}

// query evaluates expr on the argus listening on addr at time at and
// returns the value of its one-element vector (0 when it is empty).
func query(b *testing.B, addr, expr string, at time.Time) float64 {
	b.Helper()
	u := "http://" + addr + "/api/v1/query?" + url.Values{
		"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)},
	}.Encode()
	resp, err := http.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		b.Fatalf("%s: %v", expr, err)
	}
	if r.Status != "success" {
		b.Fatalf("%s: %s", expr, r.Error)
	}
	if len(r.Data.Result) == 0 {
		return 0
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		b.Fatalf("%s: value %q", expr, s)
	}
	return v
}

// child is a process the benchmark started: argus or an exporter.
type child struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	done   bool
}

// startChild starts cmd with its output in logPath and waits until
// http://listen+path answers 200. It is stopped by PID (SIGTERM, then
// SIGKILL after 10s) by stop, or when the benchmark ends.
func startChild(b *testing.B, cmd *exec.Cmd, logPath, listen, path string) *child {
	b.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		b.Fatalf("start %s: %v", cmd.Path, err)
	}
	c := &child{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	b.Cleanup(c.stop)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + listen + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		select {
		case <-c.exited:
			out, _ := os.ReadFile(logPath)
			b.Fatalf("%s exited before answering on %s:\n%s", cmd.Path, listen, out)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s does not answer %s%s after 2m: %v", cmd.Path, listen, path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *child) stop() {
	if c.done {
		return
	}
	c.done = true
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *child) cpu(b *testing.B) time.Duration {
	b.Helper()
	d, err := threadsCPU(c.cmd.Process.Pid)
	if err != nil {
		b.Fatalf("%s: %v; see %s", c.cmd.Path, err, c.log)
	}
	return d
}

func (c *child) memory(b *testing.B) memory {
	b.Helper()
	m, err := readMemory(c.cmd.Process.Pid)
	if err != nil {
		b.Fatalf("%s: %v; see %s", c.cmd.Path, err, c.log)
	}
	return m
}

func loadAverage() string {
	s, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(s))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// hostDescription names the machine: CPUs, model, kernel, date.
func hostDescription() string {
	model, cpus := "?", 0
	info, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(info), "\n") {
		k, v, ok := strings.Cut(line, ":")
		switch k = strings.TrimSpace(k); {
		case !ok:
		case k == "processor":
			cpus++
		case k == "model name":
			model = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s", cpus, model, time.Now().UTC().Format("2006-01-02 15:04 MST"))
}

// report prints the type's table and reports its main figures as the
// benchmark's metrics.
func report(b *testing.B, o sideOptions, name string, srv sideServer, idle, ours phase, peers []phase) {
	b.Helper()
	n := float64(o.instances)
	argusIdle, serverIdle := idle.argusCPU.Seconds()/idle.wall.Seconds(), idle.serverCPU.Seconds()/idle.wall.Seconds()
	// ms of CPU per collection, the idle rate taken out.
	perColl := func(cpu time.Duration, idleRate float64, ph phase) float64 {
		return (cpu.Seconds() - idleRate*ph.wall.Seconds()) / ph.collections * 1000
	}
	mib := func(bytes int64) float64 { return float64(bytes) / n / (1 << 20) }
	at15 := func(ms float64) float64 { return ms / 15000 * 100 }

	fmt.Printf("\n#### %s\n\n", name)
	fmt.Printf("Load average (1, 5, 15 min) at the start and end of each window: idle %s → %s; argus %s → %s",
		idle.load[0], idle.load[1], ours.load[0], ours.load[1])
	for i, p := range peers {
		fmt.Printf("; peer %d %s → %s", i+1, p.load[0], p.load[1])
	}
	fmt.Printf(". Idle: argus %.2f ms/s, RSS %.1f MiB; server %.2f ms/s.\n\n",
		argusIdle*1000, float64(idle.argusMem.RSS)/(1<<20), serverIdle*1000)
	fmt.Printf("| %s, %d instances | collections (failed) | samples per collection | CPU ms per collection | CPU %% per instance at 15 s | server CPU ms per collection | with the server | RSS MiB per instance | PSS MiB per instance |\n", name, o.instances)
	fmt.Printf("|---|---|---|---|---|---|---|---|---|\n")
	argusMS, argusSrv := perColl(ours.argusCPU, argusIdle, ours), perColl(ours.serverCPU, serverIdle, ours)
	argusRSS, argusPSS := mib(ours.argusMem.RSS-idle.argusMem.RSS), mib(ours.argusMem.PSS-idle.argusMem.PSS)
	fmt.Printf("| argus, %d integrations (collect, store) | %.0f (%.0f) | %.0f | %.3f | %.4f | %.3f | %.3f | %.2f | %.2f |\n",
		o.instances, ours.collections, ours.failed, ours.samples, argusMS, at15(argusMS), argusSrv, argusMS+argusSrv, argusRSS, argusPSS)
	b.ReportMetric(argusMS, "argus-cpu-ms/collection")
	b.ReportMetric(argusRSS, "argus-rss-MiB/instance")
	for i, p := range peers {
		pr := srv.peers[i]
		peerMS := p.peerCPU.Seconds() / p.collections * 1000
		peerRSS, peerPSS := mib(p.peerMem.RSS), mib(p.peerMem.PSS)
		scrMS := perColl(p.argusCPU, argusIdle, p)
		scrRSS, scrPSS := mib(p.argusMem.RSS-idle.argusMem.RSS), mib(p.argusMem.PSS-idle.argusMem.PSS)
		peerSrv := perColl(p.serverCPU, serverIdle, p)
		if pr.procs > 0 {
			fmt.Printf("| %s × %d (serve pages) | %.0f (%.0f) | %.0f | %.3f | %.4f | | | %.2f | %.2f |\n",
				pr.name, pr.procs, p.collections, p.failed, p.samples, peerMS, at15(peerMS), peerRSS, peerPSS)
		} else {
			fmt.Printf("| %s (in the server's process) | %.0f (%.0f) | %.0f | – | – | | | – | – |\n",
				pr.name, p.collections, p.failed, p.samples)
		}
		fmt.Printf("| … argus scraping it (scrape, store) | | | %.3f | %.4f | | | %.2f | %.2f |\n", scrMS, at15(scrMS), scrRSS, scrPSS)
		fmt.Printf("| … together | | | %.3f | %.4f | %.3f | %.3f | %.2f | %.2f |\n",
			peerMS+scrMS, at15(peerMS+scrMS), peerSrv, peerMS+scrMS+peerSrv, peerRSS+scrRSS, peerPSS+scrPSS)
		if pr.procs > 0 {
			fmt.Printf("| **ratio argus / exporters alone** | | | **%.2f** | | | | **%.2f** | **%.2f** |\n",
				argusMS/peerMS, argusRSS/peerRSS, argusPSS/peerPSS)
		}
		fmt.Printf("| **ratio argus / exporters and scraper** | | | **%.2f** | | %s | **%.2f** | **%.2f** | **%.2f** |\n",
			argusMS/(peerMS+scrMS), ratio(argusSrv, peerSrv), (argusMS+argusSrv)/(peerMS+scrMS+peerSrv),
			argusRSS/(peerRSS+scrRSS), argusPSS/(peerPSS+scrPSS))
		if i == 0 {
			b.ReportMetric(peerMS, "peer-cpu-ms/collection")
			b.ReportMetric(peerRSS, "peer-rss-MiB/instance")
		}
	}
}

// ratio formats a/b, or says why there is none.
func ratio(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}
