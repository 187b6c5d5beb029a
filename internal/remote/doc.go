// Package remote implements the receiving side of Prometheus remote write 1.0
// (POST /api/v1/write, snappy-compressed protobuf), so Prometheus servers, agents
// and other argus instances can push samples to argus, as to a central
// Prometheus with --web.enable-remote-write-receiver.
//
// The protobuf is decoded by hand rather than with the generated prompb types:
// labels are read straight from the request buffer into a reused builder and
// samples into a reused slice, so a request costs a few allocations instead of
// several per series. Behaviour follows Prometheus: a request is applied all or
// nothing; out-of-order, duplicate and out-of-bounds samples reject it with 400;
// series with invalid labels are skipped and counted; native histograms are
// refused with 400 (argus does not store them yet).
//
// Concurrency: the handler is safe for concurrent use; each request uses its own
// appender. Imports no other argus package.
package remote
