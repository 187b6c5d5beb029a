package tsdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// Record types of the write-ahead log and the series log. The first byte of a
// record is its type, so new types (native histograms, exemplars, metadata) can be
// added without breaking old logs; replay skips types it does not know with a
// warning.
const (
	// recSeries lists new series: uvarint count, then per series uvarint ref,
	// uvarint label count, and per label uvarint-prefixed name and value.
	recSeries byte = 1
	// recSamples lists float samples: uvarint count, uvarint base ref, varint base
	// time, then per sample varint ref delta, varint time delta (both from the
	// base) and the 8 bytes of the value, little endian.
	recSamples byte = 2
	// recLastRef records the highest series ref ever handed out (uvarint), so
	// refs of garbage-collected series are never reused after a restart.
	recLastRef byte = 3
)

// Limits that bound what a decoder allocates for a corrupt record.
const (
	maxLabelsPerSeries = 1 << 12
	maxLabelBytes      = 1 << 20
)

var errBadRecord = errors.New("malformed record")

type refSample struct {
	ref uint64
	t   int64
	v   float64
}

type refSeries struct {
	ref  uint64
	lset labels.Labels
}

func appendSeriesRecord(b []byte, series []refSeries) []byte {
	b = append(b, recSeries)
	b = binary.AppendUvarint(b, uint64(len(series)))
	for _, s := range series {
		b = binary.AppendUvarint(b, s.ref)
		b = binary.AppendUvarint(b, uint64(s.lset.Len()))
		s.lset.Range(func(l labels.Label) {
			b = binary.AppendUvarint(b, uint64(len(l.Name)))
			b = append(b, l.Name...)
			b = binary.AppendUvarint(b, uint64(len(l.Value)))
			b = append(b, l.Value...)
		})
	}
	return b
}

func appendSamplesRecord(b []byte, samples []refSample) []byte {
	b = append(b, recSamples)
	b = binary.AppendUvarint(b, uint64(len(samples)))
	if len(samples) == 0 {
		return b
	}
	base := samples[0]
	b = binary.AppendUvarint(b, base.ref)
	b = binary.AppendVarint(b, base.t)
	for _, s := range samples {
		b = binary.AppendVarint(b, int64(s.ref-base.ref))
		b = binary.AppendVarint(b, s.t-base.t)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.v))
	}
	return b
}

// recDecoder decodes records; the first failure sticks.
type recDecoder struct {
	b   []byte
	err error
}

func (d *recDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

// str returns the next length-prefixed string as a view of the record bytes,
// without copying: callers pass it to a labels.ScratchBuilder, whose Labels
// copies it, and must not keep it beyond the record.
func (d *recDecoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) || n > maxLabelBytes {
		d.err = errBadRecord
		return ""
	}
	s := unsafe.String(unsafe.SliceData(d.b), int(n))
	d.b = d.b[n:]
	return s
}

func (d *recDecoder) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = errBadRecord
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// decodeSeriesRecord appends the series of rec (without its type byte) to dst.
func decodeSeriesRecord(dst []refSeries, rec []byte, b *labels.ScratchBuilder) ([]refSeries, error) {
	err := forEachSeriesInRecord(rec, b, func(ref uint64, lset labels.Labels) {
		dst = append(dst, refSeries{ref: ref, lset: lset.Copy()})
	})
	return dst, err
}

// forEachSeriesInRecord calls fn with each series of rec (without its type
// byte). lset is only valid during fn: it reuses b's buffer, so replay builds no
// label strings it does not keep.
func forEachSeriesInRecord(rec []byte, b *labels.ScratchBuilder, fn func(ref uint64, lset labels.Labels)) error {
	d := recDecoder{b: rec}
	n := d.uvarint()
	if n > uint64(len(rec)) {
		return fmt.Errorf("%w: %d series in %d bytes", errBadRecord, n, len(rec))
	}
	var lset labels.Labels
	for range n {
		ref := d.uvarint()
		nl := d.uvarint()
		if nl > maxLabelsPerSeries || nl > uint64(len(d.b)) {
			return fmt.Errorf("%w: %d labels", errBadRecord, nl)
		}
		b.Reset()
		for range nl {
			name := d.str()
			value := d.str()
			b.Add(name, value)
		}
		if d.err != nil {
			return d.err
		}
		b.Sort()
		b.Overwrite(&lset)
		if _, dup := lset.HasDuplicateLabelNames(); dup || lset.IsEmpty() || ref == 0 {
			return fmt.Errorf("%w: invalid series %d %s", errBadRecord, ref, lset)
		}
		fn(ref, lset)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errBadRecord, len(d.b))
	}
	return d.err
}

// decodeSamplesRecord appends the samples of rec (without its type byte) to dst.
func decodeSamplesRecord(dst []refSample, rec []byte) ([]refSample, error) {
	d := recDecoder{b: rec}
	n := d.uvarint()
	// Each sample takes at least 10 bytes, which bounds a corrupt count.
	if n > uint64(len(rec))/10+1 {
		return dst, fmt.Errorf("%w: %d samples in %d bytes", errBadRecord, n, len(rec))
	}
	if n == 0 {
		return dst, d.err
	}
	dst = slices.Grow(dst, int(n))
	baseRef := d.uvarint()
	baseT := d.varint()
	for range n {
		ref := uint64(int64(baseRef) + d.varint())
		t := baseT + d.varint()
		v := math.Float64frombits(d.u64())
		if d.err != nil {
			return dst, d.err
		}
		dst = append(dst, refSample{ref: ref, t: t, v: v})
	}
	if len(d.b) != 0 {
		return dst, fmt.Errorf("%w: %d trailing bytes", errBadRecord, len(d.b))
	}
	return dst, nil
}
