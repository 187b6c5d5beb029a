package probe

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"time"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// resolve looks host up and picks the address to probe by the module's
// address family preference, adding probe_dns_lookup_time_seconds,
// probe_ip_protocol and probe_ip_addr_hash (0 when the lookup failed).
// It returns the lookup's duration, the resolve phase of http probes.
func resolve(ctx context.Context, host string, ipp *config.ProbeIPProtocol, out *integration.Metrics) (net.IP, time.Duration, error) {
	start := time.Now()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	took := time.Since(start)
	out.Gauge("probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds", took.Seconds())
	var ip net.IP
	if err == nil {
		ip, err = choose(host, addrs, ipp)
	}
	proto, hash := 0.0, 0.0
	if ip != nil {
		proto = 6
		if ip4 := ip.To4(); ip4 != nil {
			proto, ip = 4, ip4
		}
		h := fnv.New32a()
		h.Write(ip)
		hash = float64(h.Sum32())
	}
	out.Gauge("probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6", proto)
	out.Gauge("probe_ip_addr_hash", "Specifies the hash of IP address. It's useful to detect if the IP address changes.", hash)
	if err != nil {
		return nil, took, fmt.Errorf("resolve %s: %w", host, err)
	}
	return ip, took, nil
}

// choose returns the first address of the preferred family (ip6 unless
// set), or of the other when fallback is allowed (by default).
func choose(host string, addrs []net.IPAddr, ipp *config.ProbeIPProtocol) (net.IP, error) {
	want6 := strings.ToLower(ipp.PreferredIPProtocol) != "ip4"
	for _, a := range addrs {
		if (a.IP.To4() == nil) == want6 {
			return a.IP, nil
		}
	}
	if ipp.IPProtocolFallback == nil || *ipp.IPProtocolFallback {
		if len(addrs) > 0 {
			return addrs[0].IP, nil
		}
	}
	family := "IPv4"
	if want6 {
		family = "IPv6"
	}
	return nil, fmt.Errorf("%s has no %s address and ip_protocol_fallback is off", host, family)
}
