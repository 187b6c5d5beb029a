package tsdb

import (
	"encoding/binary"
	"strings"
	"sync"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// symbolTable interns the label names and values of the head's series. A
// series stores its labels as a short string of symbol ids (uvarint name id,
// value id, ...), 10-20 bytes instead of a 100-byte label string of its own,
// and the index uses the interned strings as keys, so a value shared by a
// thousand series (job="node") is in memory once. Symbols are reference counted
// and reused once no series uses them, so churn does not grow the table.
//
// The table is safe for concurrent use; encode and release (series creation and
// garbage collection) take the write lock, reads the read lock.
type symbolTable struct {
	mu   sync.RWMutex
	ids  map[string]uint32
	strs []string
	refs []uint32
	free []uint32
}

func newSymbolTable() *symbolTable {
	return &symbolTable{ids: map[string]uint32{}}
}

// encode interns the labels of a new series and returns its symbol string.
func (t *symbolTable) encode(lset labels.Labels) string {
	buf := make([]byte, 0, 2*lset.Len()*2)
	t.mu.Lock()
	lset.Range(func(l labels.Label) {
		buf = binary.AppendUvarint(buf, uint64(t.intern(l.Name)))
		buf = binary.AppendUvarint(buf, uint64(t.intern(l.Value)))
	})
	t.mu.Unlock()
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// intern returns the id of s, adding a copy of it if new (t.mu held).
func (t *symbolTable) intern(s string) uint32 {
	if id, ok := t.ids[s]; ok {
		t.refs[id]++
		return id
	}
	s = strings.Clone(s) // Do not keep the caller's memory alive.
	var id uint32
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
		t.strs[id], t.refs[id] = s, 1
	} else {
		id = uint32(len(t.strs))
		t.strs = append(t.strs, s)
		t.refs = append(t.refs, 1)
	}
	t.ids[s] = id
	return id
}

// release drops a removed series' references to its symbols.
func (t *symbolTable) release(syms string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(syms) > 0 {
		id, n := uvarintString(syms)
		syms = syms[n:]
		if t.refs[id]--; t.refs[id] == 0 {
			delete(t.ids, t.strs[id])
			t.strs[id] = ""
			t.free = append(t.free, uint32(id))
		}
	}
}

// forEach calls fn with each interned name and value of syms.
func (t *symbolTable) forEach(syms string, fn func(name, value string)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for len(syms) > 0 {
		n, k := uvarintString(syms)
		v, j := uvarintString(syms[k:])
		syms = syms[k+j:]
		fn(t.strs[n], t.strs[v])
	}
}

// labels materialises the label set of syms.
func (t *symbolTable) labels(syms string, b *labels.ScratchBuilder) labels.Labels {
	t.build(syms, b)
	return b.Labels()
}

// build resets b to the labels syms encodes, for a caller that makes the
// Labels itself (or overwrites reused ones).
func (t *symbolTable) build(syms string, b *labels.ScratchBuilder) {
	b.Reset()
	t.forEach(syms, b.Add)
}

// equal reports whether syms encodes lset.
func (t *symbolTable) equal(syms string, lset labels.Labels) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ok := true
	lset.Range(func(l labels.Label) {
		if !ok {
			return
		}
		if len(syms) == 0 {
			ok = false
			return
		}
		n, k := uvarintString(syms)
		v, j := uvarintString(syms[k:])
		syms = syms[k+j:]
		ok = t.strs[n] == l.Name && t.strs[v] == l.Value
	})
	return ok && len(syms) == 0
}

// uvarintString decodes a uvarint written by encode.
func uvarintString(s string) (uint64, int) {
	var x uint64
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<(7*i), i + 1
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	panic("BUG: truncated symbol string")
}
