package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/loadgen"
)

// seriesPerRequest is the batch size of the pusher, in series (one sample each).
const seriesPerRequest = 5000

// liveComparison pushes the same remote-write stream to a fresh argus and a
// fresh Prometheus and compares CPU per sample and RSS per series; with
// restart it then kills both with SIGKILL and times their restart.
func liveComparison(ctx context.Context, o options, work string, targets, minutes int, restart bool, report io.Writer) error {
	const interval = 15 * time.Second
	steps := minutes * 60 / int(interval.Seconds())
	start := time.Now().Add(-time.Duration(minutes) * time.Minute)
	realtime := o.realtime && !restart
	if realtime {
		start = time.Now()
	}
	gen, err := loadgen.New(loadgen.Options{Targets: targets, Seed: 2, Interval: interval, Start: start.UnixMilli()})
	if err != nil {
		return err
	}
	series := gen.Series()
	enc := newEncoder(series)
	kind := "live"
	if restart {
		kind = "restart"
	}
	procs := []*proc{
		{name: "argus", bin: o.argus, dir: filepath.Join(work, kind+"-argus")},
		{name: "prometheus", bin: o.prometheus, dir: filepath.Join(work, kind+"-prom")},
	}
	cfg := filepath.Join(work, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 15s\n"), 0o644); err != nil {
		return err
	}
	// argus's built-in collectors are off so both do only the ingest.
	acfg := filepath.Join(work, "argus.yml")
	if err := os.WriteFile(acfg, []byte("collectors:\n  argus: {enabled: false}\n  node: {enabled: false}\n  process: {enabled: false}\n"), 0o644); err != nil {
		return err
	}
	procs[0].cfg, procs[1].cfg = acfg, cfg
	for _, p := range procs {
		if err := p.start(ctx); err != nil {
			return err
		}
		defer p.kill()
		if _, err := p.waitReady(2 * time.Minute); err != nil {
			return err
		}
	}
	log.Printf("%s: pushing %d series × %d scrapes to argus and prometheus", kind, len(series), steps)
	cpu0 := [2]time.Duration{procs[0].cpu(), procs[1].cpu()}
	wallStart := time.Now()
	var vals []float64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 2 * time.Minute}
	for step := range steps {
		if realtime {
			time.Sleep(time.Until(start.Add(time.Duration(step) * interval)))
		}
		var ts int64
		ts, vals = gen.Next(vals[:0])
		reqs := enc.requests(ts, vals)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := pushAll(client, p.url+"/api/v1/write", reqs); err != nil {
					errs <- fmt.Errorf("%s: %w", p.name, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		if step%40 == 0 {
			log.Printf("%s: scrape %d/%d", kind, step, steps)
		}
	}
	wall := time.Since(wallStart)
	cpu1 := [2]time.Duration{procs[0].cpu(), procs[1].cpu()}
	samples := float64(len(series) * steps)
	// Let both settle (background flushes, GC) before reading memory.
	time.Sleep(20 * time.Second)
	rss := [2]int64{procs[0].rss(), procs[1].rss()}

	if !restart {
		fmt.Fprintf(report, "### Live ingest: the same remote-write stream to both\n\n")
		pace := "pushed as fast as both accept"
		if realtime {
			pace = "pushed in real time, one scrape every 15s"
		}
		fmt.Fprintf(report, "%d series (%d targets) × %d scrapes at 15s (%d minutes of samples, %s, %s wall), %.0f samples, %d series per request.\n\n",
			len(series), targets, steps, minutes, pace, wall.Round(time.Second), samples, seriesPerRequest)
		fmt.Fprintf(report, "| figure | argus | Prometheus | ratio argus/Prometheus |\n|---|---|---|---|\n")
		ac, pc := (cpu1[0]-cpu0[0]).Seconds()/samples*1e9, (cpu1[1]-cpu0[1]).Seconds()/samples*1e9
		fmt.Fprintf(report, "| CPU ns per appended sample (process CPU / samples) | %.0f | %.0f | **%.2f** |\n", ac, pc, ac/pc)
		ar, pr := float64(rss[0])/float64(len(series)), float64(rss[1])/float64(len(series))
		fmt.Fprintf(report, "| RSS bytes per active series (after ingest + 20s) | %.0f | %.0f | **%.2f** |\n\n", ar, pr, ar/pr)
		return nil
	}
	var ready [2]time.Duration
	for i, p := range procs {
		p.kill()
		if err := p.start(ctx); err != nil {
			return err
		}
		ready[i], err = p.waitReady(30 * time.Minute)
		if err != nil {
			return err
		}
		log.Printf("restart: %s ready after %s", p.name, ready[i])
	}
	fmt.Fprintf(report, "### Restart after kill -9\n\n")
	fmt.Fprintf(report, "%d series (%d targets) × %d scrapes at 15s pushed to both, then both killed with SIGKILL and started again one after the other; time from start to /-/ready answering 200. RSS before the kill: argus %d MiB, Prometheus %d MiB.\n\n",
		len(series), targets, steps, rss[0]>>20, rss[1]>>20)
	fmt.Fprintf(report, "| figure | argus | Prometheus | ratio argus/Prometheus |\n|---|---|---|---|\n")
	fmt.Fprintf(report, "| restart to ready | %.2fs | %.2fs | **%.2f** |\n\n", ready[0].Seconds(), ready[1].Seconds(), ready[0].Seconds()/ready[1].Seconds())
	return nil
}

// encoder builds remote-write 1.0 requests. Each series' labels are encoded
// once; a request is the label bytes plus one sample per series, snappy
// compressed.
type encoder struct {
	labels [][]byte
	buf    []byte
}

func newEncoder(series []labels.Labels) *encoder {
	e := &encoder{labels: make([][]byte, len(series))}
	for i, ls := range series {
		var b []byte
		ls.Range(func(l labels.Label) {
			var lb []byte
			lb = appendBytesField(lb, 1, []byte(l.Name))
			lb = appendBytesField(lb, 2, []byte(l.Value))
			b = appendBytesField(b, 1, lb)
		})
		e.labels[i] = b
	}
	return e
}

func appendBytesField(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field<<3|2))
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func (e *encoder) requests(ts int64, vals []float64) [][]byte {
	var out [][]byte
	for start := 0; start < len(vals); start += seriesPerRequest {
		end := min(start+seriesPerRequest, len(vals))
		req := e.buf[:0]
		var smp, tsb []byte
		for i := start; i < end; i++ {
			smp = smp[:0]
			smp = append(smp, 1<<3|1)
			smp = binary.LittleEndian.AppendUint64(smp, math.Float64bits(vals[i]))
			smp = append(smp, 2<<3|0)
			smp = binary.AppendUvarint(smp, uint64(ts))
			tsb = append(tsb[:0], e.labels[i]...)
			tsb = appendBytesField(tsb, 2, smp)
			req = appendBytesField(req, 1, tsb)
		}
		e.buf = req
		out = append(out, snappy.Encode(nil, req))
	}
	return out
}

// pushAll sends the requests with a few in flight, as a remote-write queue's
// shards do.
func pushAll(client *http.Client, url string, reqs [][]byte) error {
	sem := make(chan struct{}, 4)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for _, body := range reqs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := push(client, url, body); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func push(client *http.Client, url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	return nil
}

// proc is one server under test.
type proc struct {
	name, bin, dir, cfg string
	url                 string
	cmd                 *exec.Cmd
	started             time.Time
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (p *proc) start(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p.url = "http://" + addr
	var args []string
	switch p.name {
	case "argus":
		args = []string{"server", "--data", p.dir, "--listen", addr, "--web.enable-remote-write-receiver", "--log.level", "warn"}
		if p.cfg != "" {
			args = append(args, "--config", p.cfg)
		}
	default:
		args = []string{"--config.file=" + p.cfg, "--storage.tsdb.path=" + p.dir, "--web.listen-address=" + addr,
			"--web.enable-remote-write-receiver", "--log.level=warn"}
	}
	logf, err := os.OpenFile(p.dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.cmd = exec.CommandContext(ctx, p.bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	return nil
}

func (p *proc) waitReady(timeout time.Duration) (time.Duration, error) {
	deadline := p.started.Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(p.started), nil
			}
		}
		if p.cmd.ProcessState != nil {
			return 0, fmt.Errorf("%s exited; see %s.log", p.name, p.dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after %s; see %s.log", p.name, timeout, p.dir)
}

func (p *proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p.cmd = nil
}

// cpu returns the process's user+system CPU time from /proc.
func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// rss returns the process's resident set size from /proc.
func (p *proc) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
