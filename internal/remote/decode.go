package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Field numbers and wire types of the remote-write 1.0 protobuf messages.
const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5

	fieldTimeseries = 1 // WriteRequest.timeseries
	fieldLabels     = 1 // TimeSeries.labels
	fieldSamples    = 2 // TimeSeries.samples
	fieldExemplars  = 3 // TimeSeries.exemplars
	fieldHistograms = 4 // TimeSeries.histograms
	fieldName       = 1 // Label.name
	fieldValue      = 2 // Label.value
	fieldSampleV    = 1 // Sample.value (double)
	fieldSampleT    = 2 // Sample.timestamp (int64)
)

var errTruncated = errors.New("truncated protobuf message")

// series is one decoded TimeSeries. Label names and values point into the
// request buffer and are valid until the next series is decoded.
type series struct {
	labels     []label
	samples    []sample
	histograms int
	exemplars  int
}

type label struct{ name, value []byte }

type sample struct {
	t int64
	v float64
}

// pbuf is a cursor over protobuf bytes.
type pbuf struct{ b []byte }

func (p *pbuf) varint() (uint64, error) {
	v, n := binary.Uvarint(p.b)
	if n <= 0 {
		return 0, errTruncated
	}
	p.b = p.b[n:]
	return v, nil
}

func (p *pbuf) key() (field int, wire int, err error) {
	k, err := p.varint()
	if err != nil {
		return 0, 0, err
	}
	if k>>3 == 0 || k>>3 > math.MaxInt32 {
		return 0, 0, fmt.Errorf("invalid field number %d", k>>3)
	}
	return int(k >> 3), int(k & 7), nil
}

func (p *pbuf) bytes() ([]byte, error) {
	n, err := p.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(p.b)) {
		return nil, errTruncated
	}
	v := p.b[:n]
	p.b = p.b[n:]
	return v, nil
}

// skip skips a field of the given wire type.
func (p *pbuf) skip(wire int) error {
	switch wire {
	case wireVarint:
		_, err := p.varint()
		return err
	case wire64:
		if len(p.b) < 8 {
			return errTruncated
		}
		p.b = p.b[8:]
	case wireBytes:
		_, err := p.bytes()
		return err
	case wire32:
		if len(p.b) < 4 {
			return errTruncated
		}
		p.b = p.b[4:]
	default:
		return fmt.Errorf("unsupported wire type %d", wire)
	}
	return nil
}

// forEachSeries calls fn with every TimeSeries of a WriteRequest; metadata and
// unknown fields are skipped. s is reused between calls.
func forEachSeries(req []byte, fn func(s *series) error) error {
	p := pbuf{b: req}
	var s series
	for len(p.b) > 0 {
		field, wire, err := p.key()
		if err != nil {
			return err
		}
		if field != fieldTimeseries || wire != wireBytes {
			if err := p.skip(wire); err != nil {
				return err
			}
			continue
		}
		msg, err := p.bytes()
		if err != nil {
			return err
		}
		if err := decodeSeries(msg, &s); err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
	}
	return nil
}

func decodeSeries(msg []byte, s *series) error {
	s.labels, s.samples, s.histograms, s.exemplars = s.labels[:0], s.samples[:0], 0, 0
	p := pbuf{b: msg}
	for len(p.b) > 0 {
		field, wire, err := p.key()
		if err != nil {
			return err
		}
		if wire != wireBytes {
			if err := p.skip(wire); err != nil {
				return err
			}
			continue
		}
		sub, err := p.bytes()
		if err != nil {
			return err
		}
		switch field {
		case fieldLabels:
			l, err := decodeLabel(sub)
			if err != nil {
				return err
			}
			s.labels = append(s.labels, l)
		case fieldSamples:
			smp, err := decodeSample(sub)
			if err != nil {
				return err
			}
			s.samples = append(s.samples, smp)
		case fieldHistograms:
			s.histograms++
		case fieldExemplars:
			s.exemplars++
		}
	}
	return nil
}

func decodeLabel(msg []byte) (label, error) {
	var l label
	p := pbuf{b: msg}
	for len(p.b) > 0 {
		field, wire, err := p.key()
		if err != nil {
			return l, err
		}
		if wire != wireBytes || (field != fieldName && field != fieldValue) {
			if err := p.skip(wire); err != nil {
				return l, err
			}
			continue
		}
		v, err := p.bytes()
		if err != nil {
			return l, err
		}
		if field == fieldName {
			l.name = v
		} else {
			l.value = v
		}
	}
	return l, nil
}

func decodeSample(msg []byte) (sample, error) {
	var s sample
	p := pbuf{b: msg}
	for len(p.b) > 0 {
		field, wire, err := p.key()
		if err != nil {
			return s, err
		}
		switch {
		case field == fieldSampleV && wire == wire64:
			if len(p.b) < 8 {
				return s, errTruncated
			}
			s.v = math.Float64frombits(binary.LittleEndian.Uint64(p.b))
			p.b = p.b[8:]
		case field == fieldSampleT && wire == wireVarint:
			v, err := p.varint()
			if err != nil {
				return s, err
			}
			s.t = int64(v)
		default:
			if err := p.skip(wire); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}
