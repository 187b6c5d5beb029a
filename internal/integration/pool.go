package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Pool keeps connections to one server for reuse across collections, so a
// collection every few seconds does not cost a connection (and a TLS
// handshake and an authentication) each time. At most maxOpen connections
// are open at once; a caller beyond that waits for one, within its
// context. Pool is safe for concurrent use.
type Pool struct {
	target *Target
	setup  func(ctx context.Context, c *Conn) error
	// slots holds one token per connection in use.
	slots chan struct{}

	mu     sync.Mutex
	idle   []*Conn
	closed bool
}

// Conn is a pooled connection with a buffered reader over it.
type Conn struct {
	net.Conn
	R *bufio.Reader
	// reused is set when the connection served an earlier collection, so
	// the server may have closed it since.
	reused bool
}

// readBuffer is the read buffer of a connection: large enough for the
// longest line of a stats or INFO reply.
const readBuffer = 16 << 10

// NewPool returns a pool of connections to t. setup, if not nil, runs on
// each new connection (authentication); a connection it fails is closed.
func NewPool(t *Target, maxOpen int, setup func(ctx context.Context, c *Conn) error) *Pool {
	return &Pool{target: t, setup: setup, slots: make(chan struct{}, max(maxOpen, 1))}
}

// Do runs fn on a connection whose deadline is ctx's; cancelling ctx
// interrupts fn's I/O. A connection fn fails is closed, not reused. If fn
// fails on a reused connection because the server had closed it (an idle
// timeout, a restart), Do retries once on a new one.
func (p *Pool) Do(ctx context.Context, fn func(c *Conn) error) error {
	for attempt := 0; ; attempt++ {
		c, err := p.get(ctx)
		if err != nil {
			return err
		}
		err = p.run(ctx, c, fn)
		p.put(c, err == nil)
		if err == nil {
			return nil
		}
		if !c.reused || attempt > 0 || !closedByPeer(err) || ctx.Err() != nil {
			return err
		}
	}
}

func (p *Pool) run(ctx context.Context, c *Conn, fn func(c *Conn) error) error {
	if d, ok := ctx.Deadline(); ok {
		if err := c.SetDeadline(d); err != nil {
			return err
		}
	}
	// A deadline in the past makes pending I/O fail at once.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	return fn(c)
}

// get returns an idle connection or a new one, waiting for a free slot.
func (p *Pool) get(ctx context.Context) (*Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a free connection: %w", context.Cause(ctx))
	}
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		c.reused = true
		return c, nil
	}
	p.mu.Unlock()
	c, err := p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

func (p *Pool) dial(ctx context.Context) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, p.target.Network, p.target.Address)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if p.target.TLS != nil {
		tc := tls.Client(nc, p.target.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
	}
	c := &Conn{Conn: nc, R: bufio.NewReaderSize(nc, readBuffer)}
	if p.setup != nil {
		if err := p.run(ctx, c, func(c *Conn) error { return p.setup(ctx, c) }); err != nil {
			nc.Close()
			return nil, err
		}
	}
	return c, nil
}

// put returns a connection to the pool, or closes it.
func (p *Pool) put(c *Conn, reusable bool) {
	defer func() { <-p.slots }()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !reusable || p.closed || c.R.Buffered() > 0 {
		// Unread bytes would be taken for the next reply.
		c.Close()
		return
	}
	// The collection's deadline, left armed on an idle connection, would
	// fire there one timeout later (waking the process for nothing) and
	// fail a next use that sets no deadline of its own.
	if err := c.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
}

// Close closes the idle connections; connections in use are closed when
// they are put back.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var errs []error
	for _, c := range p.idle {
		errs = append(errs, c.Close())
	}
	p.idle = nil
	return errors.Join(errs...)
}

// closedByPeer reports errors of a connection the server has closed.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
