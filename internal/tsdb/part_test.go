package tsdb

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPartCursorSeek looks up refs in a part file in increasing, decreasing
// and random order, present and absent, across group boundaries, and
// compares with the entries written.
func TestPartCursorSeek(t *testing.T) {
	t.Parallel()
	var entries []partEntry
	for i := range 3*partGroupSize + 17 {
		ref := uint64(10 + 3*i) // gaps: refs 11, 12, 14, ... are absent
		e := partEntry{ref: ref, lastT: int64(1000 + i), lastV: float64(i)}
		if i%5 != 0 {
			e.n, e.minT, e.chunk = 1, e.lastT, []byte{byte(i), 1, 2}
		}
		entries = append(entries, e)
	}
	path := filepath.Join(t.TempDir(), "part")
	if _, _, err := writePartFile(path, 1, entries); err != nil {
		t.Fatal(err)
	}
	pf, err := openPartFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.close()
	p := newPart(1, 1, 0, 0)
	p.file = pf
	want := map[uint64]partEntry{}
	for _, e := range entries {
		want[e.ref] = e
	}
	maxRef := entries[len(entries)-1].ref + 5
	var refs []uint64
	for r := range maxRef {
		refs = append(refs, r)
	}
	orders := map[string][]uint64{"increasing": refs}
	dec := slices.Clone(refs)
	slices.Reverse(dec)
	orders["decreasing"] = dec
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := slices.Clone(refs)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	orders["random"] = shuffled
	var sparse []uint64
	for r := uint64(0); r < maxRef; r += uint64(1 + rng.IntN(40)) {
		sparse = append(sparse, r)
	}
	orders["sparse increasing"] = sparse
	for name, order := range orders {
		c := p.cursor()
		for _, ref := range order {
			got, ok := c.seek(ref)
			w, wok := want[ref]
			if ok != wok {
				t.Fatalf("%s: seek(%d) found=%v, want %v", name, ref, ok, wok)
			}
			if ok && (got.ref != w.ref || got.lastT != w.lastT || got.n != w.n || !slices.Equal(got.chunk, w.chunk)) {
				t.Fatalf("%s: seek(%d) = %+v, want %+v", name, ref, got, w)
			}
		}
		if c.err != nil {
			t.Fatalf("%s: %v", name, c.err)
		}
	}
}

// TestPartCursorChecksChunks: a lookup verifies the checksum of the chunk it
// returns, even though decoding a group no longer checks every chunk.
func TestPartCursorChecksChunks(t *testing.T) {
	t.Parallel()
	entries := []partEntry{
		{ref: 1, lastT: 10, minT: 5, n: 2, chunk: []byte("first chunk")},
		{ref: 2, lastT: 10, minT: 5, n: 2, chunk: []byte("second chunk")},
	}
	path := filepath.Join(t.TempDir(), "part")
	if _, _, err := writePartFile(path, 1, entries); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("second"))
	b[i] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	pf, err := openPartFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.close()
	p := newPart(1, 1, 0, 0)
	p.file = pf
	c := p.cursor()
	if e, ok := c.seek(1); !ok || string(e.chunk) != "first chunk" || c.err != nil {
		t.Fatalf("seek(1) = %+v, %v, err %v", e, ok, c.err)
	}
	if _, ok := c.seek(2); ok || !errors.Is(c.err, errCorruptPart) {
		t.Fatalf("seek(2) of a damaged chunk: found %v, err %v", ok, c.err)
	}
	if err := p.forEach(func(partEntry) error { return nil }); !errors.Is(err, errCorruptPart) {
		t.Fatalf("forEach over a damaged chunk: %v", err)
	}
	// Checksums that passed are remembered; one that failed is checked
	// again, and fails again, at every read.
	c = p.cursor()
	if _, ok := c.seek(1); !ok || c.err != nil || !pf.chunksOK.has(0) {
		t.Fatalf("second seek(1): %v, err %v, remembered %v", ok, c.err, pf.chunksOK.has(0))
	}
	if _, ok := c.seek(2); ok || !errors.Is(c.err, errCorruptPart) || pf.chunksOK.has(1) {
		t.Fatalf("second seek(2) of a damaged chunk: found %v, err %v", ok, c.err)
	}
}
