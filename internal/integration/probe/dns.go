package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// dnsPhases are the phases of probe_dns_duration_seconds, in order.
var dnsPhases = []string{"resolve", "connect", "request"}

// dnsResult is what a dns probe reports. The durations and record counts
// are reported even by a probe that fails early, at 0, as
// blackbox_exporter does.
type dnsResult struct {
	duration [3]time.Duration // by dnsPhases
	resp     *dns.Msg         // nil without an answer
	soa      bool             // the query was for SOA: report the serial
}

func (r *dnsResult) add(out *integration.Metrics) {
	for i, p := range dnsPhases {
		out.Gauge("probe_dns_duration_seconds", "Duration of DNS request by phase", r.duration[i].Seconds(), "phase", p)
	}
	var answer, authority, additional, succeeded float64
	if r.resp != nil {
		answer, authority, additional = float64(len(r.resp.Answer)), float64(len(r.resp.Ns)), float64(len(r.resp.Extra))
		succeeded = 1 // an answer came, whatever the checks say of it
	}
	out.Gauge("probe_dns_query_succeeded", "Displays whether or not the query was executed successfully", succeeded)
	out.Gauge("probe_dns_answer_rrs", "Returns number of entries in the answer resource record list", answer)
	out.Gauge("probe_dns_authority_rrs", "Returns number of entries in the authority resource record list", authority)
	out.Gauge("probe_dns_additional_rrs", "Returns number of entries in the additional resource record list", additional)
	if r.soa && r.resp != nil {
		serial := 0.0
		for _, rr := range r.resp.Answer {
			if soa, ok := rr.(*dns.SOA); ok {
				serial = float64(soa.Serial)
			}
		}
		out.Gauge("probe_dns_serial", "Returns the serial number of the zone", serial)
	}
}

// probeDNS asks the DNS server target (host or host:port) the module's
// question and checks the answer's response code and records.
func probeDNS(ctx context.Context, target string, m *config.ProbeDNS, out *integration.Metrics, logger *slog.Logger) error {
	q, err := dnsQuestion(m)
	if err != nil {
		return err
	}
	res := dnsResult{soa: q.Qtype == dns.TypeSOA}
	defer res.add(out)
	host, port := dnsServer(target, m.DNSOverTLS)
	ip, took, err := resolve(ctx, host, &m.ProbeIPProtocol, out)
	res.duration[0] = took
	if err != nil {
		return err
	}
	client, err := dnsClient(ctx, host, m)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(ip.String(), port)
	start := time.Now()
	conn, err := client.DialContext(ctx, addr)
	res.duration[1] = time.Since(start)
	if err != nil {
		return fmt.Errorf("connect to %s over %s: %w", addr, client.Net, err)
	}
	defer conn.Close()
	// The exchange obeys the context's deadline, not its cancellation.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	msg := &dns.Msg{MsgHdr: dns.MsgHdr{Id: dns.Id(), RecursionDesired: m.RecursionDesired == nil || *m.RecursionDesired},
		Question: []dns.Question{q}}
	logger.Debug("Asking", "server", addr, "net", client.Net, "question", q.String())
	resp, rtt, err := client.ExchangeWithConnContext(ctx, msg, conn)
	res.duration[2] = rtt
	if err != nil {
		return fmt.Errorf("ask %s %q: %w", addr, q.String(), err)
	}
	res.resp = resp
	logger.Debug("Got an answer", "answer", resp.String())
	return checkDNS(resp, m)
}

// dnsQuestion is the module's question. The configuration was checked,
// but a module built in code may hold anything.
func dnsQuestion(m *config.ProbeDNS) (dns.Question, error) {
	q := dns.Question{Name: dns.Fqdn(m.QueryName), Qtype: dns.TypeANY, Qclass: dns.ClassINET}
	if m.QueryType != "" {
		t, ok := dns.StringToType[m.QueryType]
		if !ok {
			return q, fmt.Errorf("unknown query_type %q", m.QueryType)
		}
		q.Qtype = t
	}
	if m.QueryClass != "" {
		c, ok := dns.StringToClass[m.QueryClass]
		if !ok {
			return q, fmt.Errorf("unknown query_class %q", m.QueryClass)
		}
		q.Qclass = c
	}
	return q, nil
}

// dnsServer splits target into host and port; a target without port is
// a host on the standard port, 53 or, over TLS, 853.
func dnsServer(target string, overTLS bool) (host, port string) {
	if h, p, err := net.SplitHostPort(target); err == nil {
		return h, p
	}
	if overTLS {
		return strings.Trim(target, "[]"), "853"
	}
	return strings.Trim(target, "[]"), "53"
}

// dnsClient is a client for the module's transport, its exchanges bound
// by ctx's deadline instead of the library's 2 s defaults.
func dnsClient(ctx context.Context, host string, m *config.ProbeDNS) (*dns.Client, error) {
	c := &dns.Client{Net: "udp"}
	if m.TransportProtocol == "tcp" {
		c.Net = "tcp"
	}
	if deadline, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(deadline)
	}
	if m.SourceIPAddress != "" {
		c.Dialer = &net.Dialer{LocalAddr: localAddr(c.Net, m.SourceIPAddress), Timeout: c.Timeout}
	}
	if m.DNSOverTLS {
		if c.Net != "tcp" {
			return nil, errors.New("dns_over_tls needs transport_protocol tcp")
		}
		tc, err := commoncfg.NewTLSConfig(&m.TLSConfig)
		if err != nil {
			return nil, fmt.Errorf("tls_config: %w", err)
		}
		if tc.ServerName == "" {
			tc.ServerName = host
		}
		c.Net, c.TLSConfig = "tcp-tls", tc
	}
	return c, nil
}

// checkDNS says whether an answer passes the module's checks: its
// response code, then the records of each section.
func checkDNS(resp *dns.Msg, m *config.ProbeDNS) error {
	valid := m.ValidRcodes
	if len(valid) == 0 {
		valid = []string{"NOERROR"}
	}
	rc, ok := dns.RcodeToString[resp.Rcode]
	if !ok {
		rc = strconv.Itoa(resp.Rcode)
	}
	if !slices.Contains(valid, rc) {
		return fmt.Errorf("rcode %s is not one of valid_rcodes %v", rc, valid)
	}
	for _, s := range []struct {
		name string
		rrs  []dns.RR
		v    *config.ProbeDNSRRValidator
	}{
		{"validate_answer_rrs", resp.Answer, &m.ValidateAnswer},
		{"validate_authority_rrs", resp.Ns, &m.ValidateAuthority},
		{"validate_additional_rrs", resp.Extra, &m.ValidateAdditional},
	} {
		if err := checkRRs(s.rrs, s.v); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// checkRRs checks the records of one section, each in its zone file
// form, as blackbox_exporter 0.23 does. Note fail_if_all_match_regexp:
// despite its name, it fails the probe unless every record matches every
// expression; argus keeps that meaning so that modules work unchanged.
func checkRRs(rrs []dns.RR, v *config.ProbeDNSRRValidator) error {
	if len(rrs) == 0 {
		switch {
		case len(v.FailIfNotMatchesRegexp) > 0:
			return errors.New("no records to match fail_if_not_matches_regexp")
		case len(v.FailIfNoneMatchesRegexp) > 0:
			return errors.New("no records to match fail_if_none_matches_regexp")
		}
		return nil
	}
	texts := make([]string, len(rrs))
	for i, rr := range rrs {
		texts[i] = rr.String()
	}
	for _, c := range []struct {
		exprs []string
		match bool // fail on a record that matches, or on one that does not
		key   string
	}{
		{v.FailIfMatchesRegexp, true, "fail_if_matches_regexp"},
		{v.FailIfNotMatchesRegexp, false, "fail_if_not_matches_regexp"},
		{v.FailIfAllMatchRegexp, false, "fail_if_all_match_regexp"},
	} {
		for _, expr := range c.exprs {
			t, ok, err := find(texts, expr, c.match)
			if err != nil {
				return err
			}
			if ok && c.match {
				return fmt.Errorf("record %q matches %q (%s)", t, expr, c.key)
			}
			if ok {
				return fmt.Errorf("record %q does not match %q (%s)", t, expr, c.key)
			}
		}
	}
	if len(v.FailIfNoneMatchesRegexp) == 0 {
		return nil
	}
	for _, expr := range v.FailIfNoneMatchesRegexp {
		if _, ok, err := find(texts, expr, true); ok || err != nil {
			return err
		}
	}
	return fmt.Errorf("no record matches any of %q (fail_if_none_matches_regexp)", v.FailIfNoneMatchesRegexp)
}

// find returns the first of texts that matches expr (want true) or does
// not (want false), and whether there is one.
func find(texts []string, expr string, want bool) (string, bool, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return "", false, fmt.Errorf("regexp %q: %w", expr, err)
	}
	for _, t := range texts {
		if re.MatchString(t) == want {
			return t, true, nil
		}
	}
	return "", false, nil
}
