package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// parser decodes the pages of one segment and hands complete records to fn.
// It never fails on content: damage opens a region that lasts until the
// next record is delivered, and the rest of the damaged page is skipped
// because its lengths cannot be trusted.
type parser struct {
	fn      func(rec []byte) error
	rec     []byte // assembly buffer for multi-fragment records, reused
	inRec   bool   // a fragFirst was seen and its record is not finished
	recOff  int64  // segment offset of the unfinished record's fragFirst
	goodEnd int64  // segment offset just past the last delivered record
	damaged bool   // a damage region is open
	damage  Corruption

	closed  []Corruption // damage regions followed by good records
	records int
	bytes   int64
}

// reset prepares p for a new segment; records never span segments.
func (p *parser) reset(fn func([]byte) error) {
	*p = parser{fn: fn, rec: p.rec[:0], closed: p.closed[:0]}
}

// page decodes one page starting at segment offset base. buf is PageSize
// bytes long except for the last page of the file. The only error returned
// is fn's.
func (p *parser) page(base int64, buf []byte) error {
	po := 0
	for po < len(buf) {
		off := base + int64(po)
		if PageSize-po < headerSize {
			if !allZero(buf[po:]) {
				p.bad(off, errors.New("non-zero bytes in page padding"))
			}
			return nil
		}
		if len(buf)-po < headerSize {
			p.bad(off, errors.New("fragment header cut by end of segment"))
			return nil
		}
		typ := buf[po]
		length := int(binary.LittleEndian.Uint16(buf[po+1:]))
		end := po + headerSize + length
		switch {
		case typ == fragPad:
			p.bad(off, errors.New("unexpected zero bytes"))
			return nil
		case typ > fragLast:
			p.bad(off, fmt.Errorf("invalid fragment type %d", typ))
			return nil
		case end > PageSize:
			p.bad(off, fmt.Errorf("fragment length %d crosses the page boundary", length))
			return nil
		case end > len(buf):
			p.bad(off, errors.New("fragment cut by end of segment"))
			return nil
		}
		payload := buf[po+headerSize : end]
		if fragmentCRC(buf[po:po+3], payload) != binary.LittleEndian.Uint32(buf[po+3:]) {
			p.bad(off, errors.New("fragment checksum mismatch"))
			return nil
		}
		if err := p.fragment(off, base+int64(end), typ, payload); err != nil {
			return err
		}
		po = end
	}
	return nil
}

// fragment handles a fragment whose checksum is good, spanning [off, end).
func (p *parser) fragment(off, end int64, typ byte, payload []byte) error {
	switch typ {
	case fragFull:
		p.unfinished(off)
		return p.deliver(off, end, payload)
	case fragFirst:
		p.unfinished(off)
		p.inRec, p.recOff = true, off
		p.rec = append(p.rec[:0], payload...)
	case fragMiddle, fragLast:
		if !p.inRec {
			// After damage the continuation of a lost record is expected
			// and belongs to the open region.
			p.bad(off, fmt.Errorf("fragment of type %d without a first fragment", typ))
			return nil
		}
		p.rec = append(p.rec, payload...)
		if typ == fragLast {
			return p.deliver(p.recOff, end, p.rec)
		}
	}
	return nil
}

// unfinished reports a record whose last fragment never came, found when a
// new record starts at off.
func (p *parser) unfinished(off int64) {
	if p.inRec {
		p.bad(off, fmt.Errorf("record started at offset %d has no last fragment", p.recOff))
	}
}

// bad opens a damage region, or extends the open one, for a problem found
// at off. The region starts at the unfinished record, if any, because that
// record is lost too.
func (p *parser) bad(off int64, err error) {
	if !p.damaged {
		start := off
		if p.inRec {
			start = p.recOff
		}
		p.damaged = true
		p.damage = Corruption{Offset: start, Err: fmt.Errorf("at offset %d: %w", off, err)}
	}
	p.inRec = false
}

// deliver closes any damage region at start and passes rec to fn.
func (p *parser) deliver(start, end int64, rec []byte) error {
	if p.damaged {
		p.damage.Skipped = start - p.damage.Offset
		p.closed = append(p.closed, p.damage)
		p.damaged = false
	}
	p.inRec = false
	p.goodEnd = end
	p.records++
	p.bytes += int64(len(rec))
	if err := p.fn(rec); err != nil {
		return fmt.Errorf("replay record at offset %d: %w", start, err)
	}
	return nil
}

// finish ends the segment at size and returns the damage region reaching
// its end, if any: a torn tail when the segment is the last one.
func (p *parser) finish(size int64) (Corruption, bool) {
	if p.inRec {
		p.bad(p.recOff, errors.New("record has no last fragment before end of segment"))
	}
	if !p.damaged {
		return Corruption{}, false
	}
	p.damage.Skipped = size - p.damage.Offset
	return p.damage, true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
