//go:build linux

package apphost

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// poller is one event loop's epoll instance, with an eventfd that other
// goroutines write to wake the loop (see wake).
type poller struct {
	epfd int
	evfd int

	// closed guards wake against writing to a descriptor number that
	// close freed and the process may have given to another file.
	mu     sync.Mutex
	closed bool
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &poller{epfd: epfd, evfd: evfd}
	if err := p.addTagged(evfd, unix.EPOLLIN, tagWake); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// addTagged registers fd for events. The event's data is the descriptor
// and tag, which tells the loop's own descriptors from connections.
func (p *poller) addTagged(fd int, events uint32, tag int32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: tag}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// del unregisters fd.
func (p *poller) del(fd int) {
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// wait waits up to msec milliseconds (-1: for ever) for events. It polls
// first without blocking: under load there are events each time, and a
// blocking system call costs the scheduler a hand-off.
func (p *poller) wait(events []unix.EpollEvent, msec int) (int, error) {
	for {
		n, err := unix.EpollWait(p.epfd, events, 0)
		if n == 0 && err == nil && msec != 0 {
			n, err = unix.EpollWait(p.epfd, events, msec)
		}
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// wake makes a wait in progress, or the next one, return.
func (p *poller) wake() {
	var one = [8]byte{1}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		unix.Write(p.evfd, one[:])
	}
}

// drain clears the wake-ups.
func (p *poller) drain() {
	var b [8]byte
	unix.Read(p.evfd, b[:])
}

func (p *poller) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		unix.Close(p.evfd)
		unix.Close(p.epfd)
	}
}
