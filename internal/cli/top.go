package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/argus-mon/argus/internal/apphost"
)

// topCmd runs `argus top`: a live view of the app host, like uwsgitop,
// polling the server's /api/v1/apps. It redraws the terminal with plain
// ANSI escapes (home, clear) rather than a curses library; --once prints a
// single frame without them, for scripts and tests.
func topCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("top")
	server := fs.String("server", "http://localhost:9090", "URL of the argus server")
	once := fs.Bool("once", false, "print one frame and exit")
	interval := fs.Duration("interval", time.Second, "time between frames")
	httpConfig := fs.String("http.config.file", "", "credentials and TLS for the server, in Prometheus's HTTP client format")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: argus top takes no arguments", errUsage)
	}
	u, err := url.Parse(*server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --server %q is not an http(s) URL", errUsage, *server)
	}
	if *interval <= 0 {
		return fmt.Errorf("%w: --interval must be positive", errUsage)
	}
	rt, err := roundTripper(*httpConfig)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: rt}
	endpoint := strings.TrimSuffix(*server, "/") + "/api/v1/apps"
	if *once {
		st, err := fetchStats(ctx, client, endpoint)
		if err != nil {
			return err
		}
		var frame bytes.Buffer
		renderTop(&frame, *server, st, nil, 0, time.Now())
		_, err = stdout.Write(frame.Bytes())
		return err
	}
	t := time.NewTicker(*interval)
	defer t.Stop()
	var prev *apphost.Stats
	var prevAt time.Time
	for {
		var frame bytes.Buffer
		frame.WriteString("\x1b[H\x1b[2J") // cursor home, clear screen
		now := time.Now()
		st, err := fetchStats(ctx, client, endpoint)
		if err != nil {
			fmt.Fprintf(&frame, "argus top  %s  %s\n\n%v\n", *server, now.Format(time.TimeOnly), err)
			prev = nil
		} else {
			renderTop(&frame, *server, st, prev, now.Sub(prevAt), now)
			prev, prevAt = &st, now
		}
		if _, err := stdout.Write(frame.Bytes()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func fetchStats(ctx context.Context, client *http.Client, endpoint string) (apphost.Stats, error) {
	var env struct {
		Status string        `json:"status"`
		Data   apphost.Stats `json:"data"`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return env.Data, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return env.Data, fmt.Errorf("top: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return env.Data, fmt.Errorf("top: GET %s: %s: %s", endpoint, resp.Status, bytes.TrimSpace(b))
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return env.Data, fmt.Errorf("top: GET %s: %w", endpoint, err)
	}
	return env.Data, nil
}

// renderTop writes one frame: per app a summary line (with the request
// workerListen is where a worker listens: its unix socket's file name, or
// its loopback port ("-" while it is down).
func workerListen(wk apphost.WorkerStats) string {
	switch {
	case wk.Socket != "":
		return filepath.Base(wk.Socket)
	case wk.Port != 0:
		return strconv.Itoa(wk.Port)
	}
	return "-"
}

// rate since prev, taken elapsed ago, if given) and a table of its workers,
// then the app host's problems.
func renderTop(w io.Writer, server string, st apphost.Stats, prev *apphost.Stats, elapsed time.Duration, now time.Time) {
	fmt.Fprintf(w, "argus top  %s  %s\n", server, now.Format(time.TimeOnly))
	if len(st.Apps) == 0 {
		fmt.Fprintln(w, "\nno apps")
	}
	for _, a := range st.Apps {
		rate := ""
		if p := findApp(prev, a.Name); p != nil && elapsed > 0 && a.Requests >= p.Requests {
			rate = fmt.Sprintf("  %.1f req/s", float64(a.Requests-p.Requests)/elapsed.Seconds())
		}
		fmt.Fprintf(w, "\n%s  %s  requests %d%s  in flight %d\n", a.Name, a.Listen, a.Requests, rate, a.InFlight)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  WORKER\tPID\tLISTEN\tSTATE\tREQS\tINFL\tRESTARTS\tRECYCLES\tRSS\tCPU\tUPTIME\tLAST ERROR")
		for _, wk := range a.Workers {
			fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%.2fs\t%s\t%s\n", wk.ID, wk.PID, workerListen(wk), wk.State,
				wk.Requests, wk.InFlight, wk.Restarts, wk.Recycles, humanBytes(wk.RSSBytes), wk.CPUSeconds,
				(time.Duration(wk.UptimeSeconds) * time.Second).String(), wk.LastError)
		}
		tw.Flush()
	}
	if len(st.Problems) > 0 {
		fmt.Fprintln(w, "\nproblems:")
		for _, p := range st.Problems {
			fmt.Fprintln(w, "  "+p)
		}
	}
}

func findApp(st *apphost.Stats, name string) *apphost.AppStats {
	if st == nil {
		return nil
	}
	for i := range st.Apps {
		if st.Apps[i].Name == name {
			return &st.Apps[i]
		}
	}
	return nil
}

// humanBytes formats a size in binary units, one decimal.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f%ciB", v, "KMGT"[i])
}
