package scrape

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// downError is a gather error that marks the target down, as an
// integration's CollectError does.
type downError struct{ msg string }

func (e downError) Error() string    { return e.msg }
func (e downError) TargetDown() bool { return true }

// flakyGatherer reports x_up 1, or x_up 0 with a downError; it records the
// deadline of the context it is gathered with.
type flakyGatherer struct {
	mu       sync.Mutex
	down     bool
	deadline bool
}

func (g *flakyGatherer) Gather() ([]*dto.MetricFamily, error) {
	return g.GatherContext(context.Background())
}

func (g *flakyGatherer) GatherContext(ctx context.Context) ([]*dto.MetricFamily, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, g.deadline = ctx.Deadline()
	reg := prometheus.NewRegistry()
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_up", Help: "x"})
	reg.MustRegister(up)
	if g.down {
		fams, _ := reg.Gather()
		return fams, downError{"x is down: connection refused"}
	}
	up.Set(1)
	return reg.Gather()
}

func (g *flakyGatherer) set(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
}

// TestLocalTargetDownKeepsItsReport checks that a local gatherer failing
// with a TargetDown error makes the target down with that error while its
// own down report (x_up 0) is stored, not marked stale.
func TestLocalTargetDownKeepsItsReport(t *testing.T) {
	e := newEnv(t)
	g := &flakyGatherer{}
	jobs := jobs(t, "scrape_configs:\n  - job_name: x\n    scrape_interval: 100ms\n    scrape_timeout: 50ms\n    static_configs: [{targets: [localhost:9090]}]\n")
	if err := e.mgr.ApplyConfig(jobs, map[string]prometheus.Gatherer{"x": g}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "x_up 1", func() bool { return last(firstOf(e.series(eq("__name__", "x_up")))).v == 1 })
	g.set(true)
	waitFor(t, "x_up 0", func() bool { return last(firstOf(e.series(eq("__name__", "x_up")))).v == 0 })
	waitFor(t, "up 0", func() bool { return last(firstOf(e.series(eq("__name__", "up")))).v == 0 })
	st := e.mgr.Targets()[0].Active[0].State()
	if st.Health != HealthBad || !strings.Contains(st.LastError, "x is down: connection refused") {
		t.Fatalf("state %+v", st)
	}
	// Later down scrapes keep storing x_up 0, never a staleness marker.
	time.Sleep(300 * time.Millisecond)
	for _, s := range firstOf(e.series(eq("__name__", "x_up"))) {
		if isStale(s.v) {
			t.Fatal("x_up was marked stale while the target reported itself down")
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.deadline {
		t.Error("the gatherer got no deadline")
	}
}

// TestLocalPlainErrorStaysPartial checks that other gather errors keep
// their meaning: the partial result is stored and the target is up.
func TestLocalPlainErrorStaysPartial(t *testing.T) {
	s := &gathererScraper{g: prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "y", Help: "y"}))
		fams, _ := reg.Gather()
		return fams, errors.New("one collector failed")
	})}
	body, _, err := s.scrape(context.Background(), time.Now().Add(time.Second))
	if err != nil || !strings.Contains(string(body), "y 0") {
		t.Fatalf("got %q, %v", body, err)
	}
}
