package integration_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo is a test type: it sends "ping <password>" and expects "pong".
type echo struct {
	t    *integration.Target
	pool *integration.Pool
}

func newEcho(maxConns int) integration.NewFunc {
	return func(t *integration.Target, _ *slog.Logger) (integration.Collector, error) {
		return &echo{t: t, pool: integration.NewPool(t, maxConns, nil)}, nil
	}
}

func (e *echo) Collect(ctx context.Context, m *integration.Metrics) error {
	err := e.pool.Do(ctx, func(c *integration.Conn) error {
		pw, err := e.t.Password()
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(c, "ping %s\n", pw); err != nil {
			return err
		}
		line, err := c.R.ReadString('\n')
		if err != nil {
			return fmt.Errorf("read reply: %w", err)
		}
		if line != "pong\n" {
			return fmt.Errorf("unexpected reply %q", line)
		}
		return nil
	})
	up := 1.0
	if err != nil {
		up = 0
	}
	m.Gauge("echo_up", "Whether echo answered.", up)
	return err
}

func (e *echo) Close() error { return e.pool.Close() }

func instance(t *testing.T, cfg config.Integration, maxConns int) *integration.Instance {
	t.Helper()
	cfg.Type = "echo"
	if cfg.Name == "" {
		cfg.Name = "e"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = model.Duration(5 * time.Second)
	}
	in, err := integration.New(&cfg, newEcho(maxConns), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// server is a fake echo server that counts connections and may hold its
// replies until released.
type server struct {
	addr    string
	conns   atomic.Int32
	open    atomic.Int32
	maxOpen atomic.Int32
	reply   func(line string) string
}

func startServer(t *testing.T, reply func(line string) string) *server {
	s := &server{reply: reply}
	s.addr = integrationtest.Fake(t, func(c net.Conn) {
		s.conns.Add(1)
		n := s.open.Add(1)
		defer s.open.Add(-1)
		for {
			m := s.maxOpen.Load()
			if n <= m || s.maxOpen.CompareAndSwap(m, n) {
				break
			}
		}
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := c.Write([]byte(s.reply(line))); err != nil {
				return
			}
		}
	})
	return s
}

func TestConnectionsAreReusedAndBounded(t *testing.T) {
	gate := make(chan struct{})
	s := startServer(t, func(string) string {
		<-gate
		return "pong\n"
	})
	in := instance(t, config.Integration{Address: s.addr}, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			_, err := in.Gather()
			errs <- err
		})
	}
	// Let the gathers pile up on the two connections, then release them.
	time.Sleep(100 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := s.maxOpen.Load(); n > 2 {
		t.Errorf("%d connections open at once, want at most 2", n)
	}
	if n := s.conns.Load(); n > 2 {
		t.Errorf("%d connections made, want at most 2 (reused)", n)
	}
}

// TestReconnectAfterServerClose checks that a pooled connection the
// server closed in the meantime is replaced without a failed collection.
func TestReconnectAfterServerClose(t *testing.T) {
	var served atomic.Int32
	addr := integrationtest.Fake(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		// Counted before the reply, which the test may check as soon as
		// it has read it.
		served.Add(1)
		c.Write([]byte("pong\n"))
		// Close after one reply, as a server with an idle timeout would.
	})
	in := instance(t, config.Integration{Address: addr}, 1)
	for i := range 3 {
		if _, err := in.Gather(); err != nil {
			t.Fatalf("collection %d: %v", i, err)
		}
	}
	if served.Load() != 3 {
		t.Errorf("served %d, want 3", served.Load())
	}
}

// TestIdleConnectionKeepsNoDeadline checks that a connection goes back to
// the pool without the collection's deadline: a later use without a
// deadline of its own must not fail on the stale one.
func TestIdleConnectionKeepsNoDeadline(t *testing.T) {
	s := startServer(t, func(string) string { return "pong\n" })
	target, err := integration.NewTarget(&config.Integration{Name: "e", Address: s.addr})
	if err != nil {
		t.Fatal(err)
	}
	pool := integration.NewPool(target, 1, nil)
	defer pool.Close()
	ping := func(c *integration.Conn) error {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return err
		}
		_, err := c.R.ReadString('\n')
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err = pool.Do(ctx, ping)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // past the first use's deadline
	if err := pool.Do(context.Background(), ping); err != nil {
		t.Fatalf("second use, without a deadline: %v", err)
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections made, want 1 (reused)", n)
	}
}

func TestTimeoutDoesNotBlockOthers(t *testing.T) {
	// The slow one's timeout is long, and the fast one must finish well
	// within it: generous bounds, for loaded machines.
	silent := instance(t, config.Integration{Name: "slow", Address: integrationtest.Silent(t), Timeout: model.Duration(5 * time.Second)}, 1)
	s := startServer(t, func(string) string { return "pong\n" })
	fast := instance(t, config.Integration{Name: "fast", Address: s.addr}, 1)
	done := make(chan error, 1)
	go func() {
		_, err := silent.Gather()
		done <- err
	}()
	start := time.Now()
	if _, err := fast.Gather(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the fast instance took %v while the slow one waited", took)
	}
	err := <-done
	var ce *integration.CollectError
	if !errors.As(err, &ce) || !ce.Timeout {
		t.Fatalf("got %v, want a timeout", err)
	}
	if !strings.Contains(err.Error(), "no answer within the timeout of 5s") || !strings.Contains(err.Error(), "integration slow") {
		t.Errorf("imprecise error: %v", err)
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	const password = "s3cr3t-pa55"
	// A server that echoes what it got, password included.
	s := startServer(t, func(line string) string { return "ERR bad " + line })
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []config.Integration{
		{Address: s.addr, Password: password},
		{Address: s.addr, PasswordFile: pwFile},
	} {
		_, err := instance(t, cfg, 1).Gather()
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "<secret>") {
			t.Errorf("error does not show where the password was: %v", err)
		}
	}
}

func TestDownReportsUpZero(t *testing.T) {
	fams, err := instance(t, config.Integration{Address: integrationtest.FreeAddr(t)}, 1).Gather()
	var ce *integration.CollectError
	if !errors.As(err, &ce) || !ce.TargetDown() || ce.Timeout {
		t.Fatalf("got %v, want a CollectError that is not a timeout", err)
	}
	if !strings.Contains(err.Error(), "connect: dial tcp") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("imprecise error: %v", err)
	}
	if v, ok := integrationtest.Value(fams, "echo_up"); !ok || v != 0 {
		t.Errorf("echo_up = %v (present %v), want 0", v, ok)
	}
}
