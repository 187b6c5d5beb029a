package probe

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"

	"github.com/argus-mon/argus/internal/integration"
)

// addTLS adds the metrics of a TLS connection: certificate expiry, the
// leaf certificate and the protocol version, and with lastChain the
// expiry of the chain that expires last, which blackbox_exporter 0.23's
// grpc prober does not report.
func addTLS(out *integration.Metrics, cs *tls.ConnectionState, lastChain bool) {
	if len(cs.PeerCertificates) > 0 {
		earliest := cs.PeerCertificates[0].NotAfter
		for _, c := range cs.PeerCertificates[1:] {
			if c.NotAfter.Before(earliest) {
				earliest = c.NotAfter
			}
		}
		out.Gauge("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime", float64(earliest.Unix()))
		leaf := cs.PeerCertificates[0]
		sum := sha256.Sum256(leaf.Raw)
		out.Gauge("probe_ssl_last_chain_info", "Contains SSL leaf certificate information", 1,
			"fingerprint_sha256", hex.EncodeToString(sum[:]),
			"subject", leaf.Subject.String(),
			"issuer", leaf.Issuer.String(),
			"subjectalternative", strings.Join(leaf.DNSNames, ","))
	}
	// The chain that expires last is what matters once intermediates
	// are renewed. Without a verified chain (insecure_skip_verify)
	// there is none: blackbox_exporter then reports year 1, which no
	// alert rule can use, and argus leaves the series out.
	var last int64
	for i, chain := range cs.VerifiedChains {
		if len(chain) == 0 {
			continue
		}
		expiry := chain[0].NotAfter
		for _, c := range chain[1:] {
			if c.NotAfter.Before(expiry) {
				expiry = c.NotAfter
			}
		}
		if i == 0 || expiry.Unix() > last {
			last = expiry.Unix()
		}
	}
	if lastChain && len(cs.VerifiedChains) > 0 {
		out.Gauge("probe_ssl_last_chain_expiry_timestamp_seconds", "Returns last SSL chain expiry in timestamp", float64(last))
	}
	out.Gauge("probe_tls_version_info", "Returns the TLS version used or NaN when unknown", 1, "version", tls.VersionName(cs.Version))
}
