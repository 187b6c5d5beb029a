package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/argus-mon/argus/internal/integration"
)

// maxConns bounds the connections to one server: a scrape and an outside
// Prometheus reading /metrics/integrations/<name> at the same moment.
const maxConns = 2

// closeTimeout bounds the goodbye to a server on a connection that is
// dropped, so a server that stopped answering cannot hold Close up.
const closeTimeout = time.Second

// applicationName names argus's sessions in pg_stat_activity, so a DBA can
// tell them apart.
const applicationName = "argus"

// Collector reads one PostgreSQL server.
type Collector struct {
	target *integration.Target
	// slots holds one token per connection in use.
	slots chan struct{}

	mu     sync.Mutex
	idle   []*pgx.Conn
	closed bool
}

// New returns the collector of one PostgreSQL instance. It checks the DSN
// but does not connect.
func New(t *integration.Target, _ *slog.Logger) (integration.Collector, error) {
	c := &Collector{target: t, slots: make(chan struct{}, maxConns)}
	if _, err := c.connConfig(""); err != nil {
		return nil, err
	}
	return c, nil
}

// connConfig builds the connection settings: the DSN's, or the address's
// with the database postgres, then the configured user and password.
func (c *Collector) connConfig(password string) (*pgx.ConnConfig, error) {
	dsn := c.target.DSN()
	if dsn == "" {
		var err error
		if dsn, err = addressDSN(c.target.Address); err != nil {
			return nil, err
		}
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message names the DSN with its password masked; still,
		// say no more than that it did not parse.
		return nil, errors.New("dsn: not a valid PostgreSQL connection string")
	}
	if c.target.Username != "" {
		cfg.User = c.target.Username
	}
	if password != "" {
		cfg.Password = password
	}
	if c.target.TLS != nil {
		// tls_config means TLS, without falling back to plain text.
		cfg.TLSConfig = c.target.TLS.Clone()
		if cfg.TLSConfig.ServerName == "" && !strings.HasPrefix(cfg.Host, "/") {
			cfg.TLSConfig.ServerName = cfg.Host
		}
		var fbs []*pgconn.FallbackConfig
		for _, fb := range cfg.Fallbacks {
			if fb.TLSConfig != nil {
				fb.TLSConfig = cfg.TLSConfig
				fbs = append(fbs, fb)
			}
		}
		cfg.Fallbacks = fbs
	}
	cfg.RuntimeParams["application_name"] = applicationName
	// No server-side statements: nothing to prepare on each new
	// connection, and poolers in transaction mode work.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return cfg, nil
}

// addressDSN turns an address into a connection string: host:port, or the
// path of a server's socket, <directory>/.s.PGSQL.<port>.
func addressDSN(addr string) (string, error) {
	var host, port string
	if strings.HasPrefix(addr, "/") {
		dir, name := filepath.Split(addr)
		p, ok := strings.CutPrefix(name, ".s.PGSQL.")
		if !ok || p == "" {
			return "", fmt.Errorf("address %s: a PostgreSQL socket is named .s.PGSQL.<port>", addr)
		}
		host, port = filepath.Clean(dir), p
	} else {
		var err error
		if host, port, err = net.SplitHostPort(addr); err != nil {
			return "", fmt.Errorf("address %s: %w", addr, err)
		}
	}
	return fmt.Sprintf("host=%s port=%s dbname=postgres", quoteValue(host), quoteValue(port)), nil
}

// quoteValue quotes a value of a key=value connection string.
func quoteValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Collect reads the server and adds postgres_exporter's metrics.
func (c *Collector) Collect(ctx context.Context, m *integration.Metrics) error {
	var res *results
	err := c.do(ctx, func(conn *pgx.Conn) error {
		var err error
		res, err = query(ctx, conn)
		return err
	})
	up := 0.0
	if res != nil {
		up = 1
		res.add(m, c.target.Address)
	}
	m.Gauge("pg_up", "Whether PostgreSQL could be connected to and read.", up)
	return err
}

// do runs fn on a pooled connection, or a new one. A connection fn fails
// is closed. If fn fails on a reused connection for a reason other than a
// server error (the server closed it while idle, or restarted), do retries
// once on a new connection.
func (c *Collector) do(ctx context.Context, fn func(*pgx.Conn) error) error {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for a free connection: %w", context.Cause(ctx))
	}
	defer func() { <-c.slots }()
	for attempt := 0; ; attempt++ {
		conn, reused, err := c.get(ctx)
		if err != nil {
			return err
		}
		err = fn(conn)
		var pgErr *pgconn.PgError
		serverErr := errors.As(err, &pgErr)
		if err == nil || serverErr {
			// A server error leaves the connection usable.
			c.put(conn)
		} else {
			closeConn(conn)
		}
		if err == nil || serverErr || !reused || attempt > 0 || ctx.Err() != nil {
			return err
		}
	}
}

// get returns an idle connection, or a new one.
func (c *Collector) get(ctx context.Context) (conn *pgx.Conn, reused bool, err error) {
	c.mu.Lock()
	for len(c.idle) > 0 {
		conn = c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if !conn.IsClosed() {
			c.mu.Unlock()
			return conn, true, nil
		}
	}
	c.mu.Unlock()
	conn, err = c.connect(ctx)
	return conn, false, err
}

func (c *Collector) connect(ctx context.Context) (*pgx.Conn, error) {
	pw, err := c.target.Password()
	if err != nil {
		return nil, err
	}
	cfg, err := c.connConfig(pw)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "28") {
			// Class 28: invalid authorization specification.
			return nil, fmt.Errorf("connect: server refused the credentials: %w", oneLine{err})
		}
		return nil, fmt.Errorf("connect: %w", oneLine{err})
	}
	return conn, nil
}

// oneLine is an error of pgx's on one line: pgx puts the attempt at each
// host (and at each of TLS and plain text) on a line of its own, which a
// target's last error shows badly. Repeated lines are dropped.
type oneLine struct{ err error }

func (e oneLine) Error() string {
	var lines []string
	for _, l := range strings.Split(e.err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " ")
}

func (e oneLine) Unwrap() error { return e.err }

func (c *Collector) put(conn *pgx.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		closeConn(conn)
		return
	}
	c.idle = append(c.idle, conn)
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	// The connection is dropped either way; a failed goodbye changes
	// nothing.
	_ = conn.Close(ctx)
}

// Close closes the idle connections; those in use are closed when put
// back.
func (c *Collector) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, conn := range idle {
		closeConn(conn)
	}
	return nil
}
