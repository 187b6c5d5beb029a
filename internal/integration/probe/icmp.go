package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// icmpPhases are the phases of probe_icmp_duration_seconds, in order.
var icmpPhases = []string{"resolve", "setup", "rtt"}

// icmpPayload is the start of every echo request's data, so that a
// packet capture tells where it came from.
const icmpPayload = "argus black-box probe"

// Protocol numbers, as icmp.ParseMessage takes them.
const (
	protocolICMP   = 1
	protocolICMPv6 = 58
)

// icmpResult is what an icmp probe reports: the durations always (0 for
// a phase not reached), the reply's hop limit when there was a reply
// that said it.
type icmpResult struct {
	duration [3]time.Duration // by icmpPhases
	hopLimit int              // -1 when unknown
}

func (r *icmpResult) add(out *integration.Metrics) {
	for i, p := range icmpPhases {
		out.Gauge("probe_icmp_duration_seconds", "Duration of icmp request by phase", r.duration[i].Seconds(), "phase", p)
	}
	if r.hopLimit >= 0 {
		out.Gauge("probe_icmp_reply_hop_limit", "Replied packet hop limit (TTL for ipv4)", float64(r.hopLimit))
	}
}

// echo is one echo request, and what its reply must carry.
type echo struct {
	id, seq int
	data    []byte
}

// probeICMP sends an echo request to target (a host name or an IP
// address) and waits for its reply.
func probeICMP(ctx context.Context, target string, m *config.ProbeICMP, out *integration.Metrics, logger *slog.Logger) error {
	res := icmpResult{hopLimit: -1}
	defer res.add(out)
	ip, took, err := resolve(ctx, strings.Trim(target, "[]"), &m.ProbeIPProtocol, out)
	res.duration[0] = took
	if err != nil {
		return err
	}
	start := time.Now()
	conn, privileged, err := listenICMP(ip, m.SourceIPAddress)
	if err != nil {
		return err
	}
	defer conn.Close()
	logger.Debug("Opened an ICMP socket", "raw", privileged)
	v6 := ip.To4() == nil
	if err := setupICMP(conn, v6, m.TTL); err != nil {
		return err
	}
	e := echo{id: rand.IntN(1 << 16), seq: rand.IntN(1 << 16), data: []byte(icmpPayload)}
	if m.PayloadSize > 0 {
		e.data = make([]byte, m.PayloadSize)
		copy(e.data, icmpPayload)
	}
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	req, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: e.id, Seq: e.seq, Data: e.data}}).Marshal(nil)
	if err != nil {
		return fmt.Errorf("BUG: marshal an echo request: %w", err)
	}
	// An unprivileged socket is a datagram one: it takes UDP addresses.
	var dst net.Addr = &net.IPAddr{IP: ip}
	if !privileged {
		dst = &net.UDPAddr{IP: ip}
	}
	res.duration[1] = time.Since(start)
	start = time.Now()
	if _, err := conn.WriteTo(req, dst); err != nil {
		return fmt.Errorf("send an echo request to %s: %w", ip, err)
	}
	res.hopLimit, err = awaitReply(ctx, conn, ip, e, privileged)
	if err != nil {
		return err
	}
	res.duration[2] = time.Since(start)
	return nil
}

// listenICMP opens an ICMP socket for ip's family: an unprivileged one
// (an ICMP datagram socket, which Linux allows to the groups of the
// net.ipv4.ping_group_range sysctl) or else a raw one (which needs root
// or CAP_NET_RAW). privileged is whether it is raw.
func listenICMP(ip net.IP, source string) (conn *icmp.PacketConn, privileged bool, err error) {
	dgram, raw, local := "udp4", "ip4:icmp", "0.0.0.0"
	if ip.To4() == nil {
		dgram, raw, local = "udp6", "ip6:ipv6-icmp", "::"
	}
	if source != "" {
		local = source
	}
	conn, errDgram := icmp.ListenPacket(dgram, local)
	if errDgram == nil {
		return conn, false, nil
	}
	// Only a refusal (EACCES, EPERM) is worth trying a raw socket for:
	// a bad source address would fail there too, and say it better.
	if !errors.Is(errDgram, os.ErrPermission) {
		return nil, false, fmt.Errorf("open an ICMP socket on %s: %w", local, errDgram)
	}
	conn, errRaw := icmp.ListenPacket(raw, local)
	if errRaw == nil {
		return conn, true, nil
	}
	if !errors.Is(errRaw, os.ErrPermission) {
		return nil, false, fmt.Errorf("open a raw ICMP socket on %s: %w", local, errRaw)
	}
	return nil, false, fmt.Errorf("no ICMP socket is permitted: an unprivileged one: %w%s; a raw one: %w (it needs root or CAP_NET_RAW)",
		errDgram, pingGroupRange(), errRaw)
}

// pingGroupRange explains, on Linux, which groups may open unprivileged
// ICMP sockets, for the error that none could be opened.
func pingGroupRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		return ""
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil {
		return ""
	}
	return fmt.Sprintf(" (sysctl net.ipv4.ping_group_range is %d %d, group %d is not in it)", lo, hi, os.Getgid())
}

// setupICMP asks for the hop limit of replies and sets the requests' own,
// when ttl is not 0.
func setupICMP(conn *icmp.PacketConn, v6 bool, ttl int) error {
	if v6 {
		p := conn.IPv6PacketConn()
		if err := p.SetControlMessage(ipv6.FlagHopLimit, true); err != nil {
			return fmt.Errorf("ask for the hop limit of replies: %w", err)
		}
		if ttl > 0 {
			if err := p.SetHopLimit(ttl); err != nil {
				return fmt.Errorf("set the hop limit to %d: %w", ttl, err)
			}
		}
		return nil
	}
	p := conn.IPv4PacketConn()
	if err := p.SetControlMessage(ipv4.FlagTTL, true); err != nil {
		return fmt.Errorf("ask for the TTL of replies: %w", err)
	}
	if ttl > 0 {
		if err := p.SetTTL(ttl); err != nil {
			return fmt.Errorf("set the TTL to %d: %w", ttl, err)
		}
	}
	return nil
}

// awaitReply reads until the reply to e comes from ip, or the probe ends,
// and returns the reply's hop limit (-1 if unknown). A raw socket gets
// every ICMP packet the host receives, an unprivileged one only the
// replies to its own requests, whose identifier the kernel chose.
func awaitReply(ctx context.Context, conn *icmp.PacketConn, ip net.IP, e echo, privileged bool) (int, error) {
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	v6 := ip.To4() == nil
	buf := make([]byte, 1<<16)
	for {
		n, hop, peer, err := readICMP(conn, buf, v6)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return -1, fmt.Errorf("no echo reply from %s before the probe's deadline", ip)
			}
			return -1, fmt.Errorf("read an echo reply from %s: %w", ip, err)
		}
		if peerIP(peer).Equal(ip) && isReply(buf[:n], v6, e, privileged) {
			return hop, nil
		}
	}
}

func readICMP(conn *icmp.PacketConn, buf []byte, v6 bool) (n, hop int, peer net.Addr, err error) {
	hop = -1
	if v6 {
		var cm *ipv6.ControlMessage
		n, cm, peer, err = conn.IPv6PacketConn().ReadFrom(buf)
		if cm != nil {
			hop = cm.HopLimit
		}
		return n, hop, peer, err
	}
	var cm *ipv4.ControlMessage
	n, cm, peer, err = conn.IPv4PacketConn().ReadFrom(buf)
	if cm != nil {
		hop = cm.TTL
	}
	return n, hop, peer, err
}

func peerIP(a net.Addr) net.IP {
	switch a := a.(type) {
	case *net.IPAddr:
		return a.IP
	case *net.UDPAddr:
		return a.IP
	}
	return nil
}

// isReply reports whether packet is the echo reply to e.
func isReply(packet []byte, v6 bool, e echo, privileged bool) bool {
	proto, typ := protocolICMP, icmp.Type(ipv4.ICMPTypeEchoReply)
	if v6 {
		proto, typ = protocolICMPv6, ipv6.ICMPTypeEchoReply
	}
	msg, err := icmp.ParseMessage(proto, packet)
	if err != nil || msg.Type != typ {
		return false
	}
	body, ok := msg.Body.(*icmp.Echo)
	return ok && body.Seq == e.seq && (!privileged || body.ID == e.id) && bytes.Equal(body.Data, e.data)
}
