package tsdb

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/tsdb/chunkenc"
	"github.com/argus-mon/argus/internal/tsdb/diskio"
	"github.com/argus-mon/argus/internal/tsdb/index"
)

// A block is an immutable directory covering [MinTime, MaxTime):
//
//	meta.json  BlockMeta
//	index      the index format of package index
//	chunks     magic "ARGC" (4) | version (1) | zero (3) | chunks, each:
//	           uvarint length | encoded samples (package chunkenc) | crc32c (4)
//
// A chunk's ref is its offset in the chunks file.
const (
	blocksDir       = "blocks"
	metaFilename    = "meta.json"
	indexFilename   = "index"
	chunksFilename  = "chunks"
	chunksMagic     = 0x41524743 // "ARGC"
	chunksVersion   = 1
	chunksHeaderLen = 8
	// maxChunkSamples bounds the samples in one block chunk: large enough for
	// compression to find the regularities of a series, small enough that a
	// query over a short range does not decode much it then throws away.
	maxChunkSamples = 480
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BlockMeta is the content of a block's meta.json.
type BlockMeta struct {
	ULID    string     `json:"ulid"`
	MinTime int64      `json:"minTime"`
	MaxTime int64      `json:"maxTime"`
	Stats   BlockStats `json:"stats"`
	// Compaction records how the block was made.
	Compaction BlockCompaction `json:"compaction"`
	Version    int             `json:"version"`
}

// BlockStats counts what a block holds.
type BlockStats struct {
	NumSamples uint64 `json:"numSamples"`
	NumSeries  uint64 `json:"numSeries"`
	NumChunks  uint64 `json:"numChunks"`
}

// BlockCompaction is the lineage of a block.
type BlockCompaction struct {
	Level int `json:"level"`
	// Sources are the ULIDs of the blocks merged into this one; a block whose
	// ULID is among another block's sources is superseded and deleted at open.
	Sources []string `json:"sources,omitempty"`
	// HeadMaxTime is the end of the head data in the block: the MaxTime of a
	// block cut from the head, the largest one of the sources of a merge, 0 for
	// imported blocks. At open the head starts no earlier than the largest
	// HeadMaxTime (head.json is the primary record of it).
	HeadMaxTime int64 `json:"headMaxTime,omitempty"`
}

// newULID returns a lexicographically sortable unique id: 48 bits of
// milliseconds and 80 random bits in Crockford base32, as ULIDs are, so block
// directories sort by creation time like Prometheus's.
func newULID(t time.Time) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	rand.Read(b[6:])
	// 128 bits → 26 characters of 5 bits, most significant first.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Block is an open block. Queriers hold a reference so it is not unmapped
// under them.
type Block struct {
	dir    string
	meta   BlockMeta
	index  *index.Reader
	idxMap *diskio.Mapping
	chkMap *diskio.Mapping
	chunks []byte
	size   int64

	mu      sync.Mutex
	refs    int
	deleted bool
}

// OpenBlock opens the block in dir.
func OpenBlock(dir string) (*Block, error) {
	mb, err := os.ReadFile(filepath.Join(dir, metaFilename))
	if err != nil {
		return nil, err
	}
	var meta BlockMeta
	if err := json.Unmarshal(mb, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", metaFilename, err)
	}
	if meta.Version != 1 || meta.MaxTime < meta.MinTime {
		return nil, fmt.Errorf("%s: unsupported version %d or bad time range", metaFilename, meta.Version)
	}
	idxMap, err := diskio.Map(filepath.Join(dir, indexFilename))
	if err != nil {
		return nil, err
	}
	ir, err := index.NewReader(idxMap.Bytes())
	if err != nil {
		idxMap.Close()
		return nil, fmt.Errorf("index: %w", err)
	}
	chkMap, err := diskio.Map(filepath.Join(dir, chunksFilename))
	if err != nil {
		idxMap.Close()
		return nil, err
	}
	cb := chkMap.Bytes()
	if len(cb) < chunksHeaderLen || binary.LittleEndian.Uint32(cb) != chunksMagic || cb[4] != chunksVersion {
		idxMap.Close()
		chkMap.Close()
		return nil, errors.New("chunks: bad header")
	}
	size, _ := diskio.DirSize(dir)
	return &Block{dir: dir, meta: meta, index: ir, idxMap: idxMap, chkMap: chkMap, chunks: cb, size: size}, nil
}

// Meta returns the block's metadata.
func (b *Block) Meta() BlockMeta { return b.meta }

// Dir returns the block's directory.
func (b *Block) Dir() string { return b.dir }

// Size returns the block's bytes on disk.
func (b *Block) Size() int64 { return b.size }

func (b *Block) acquire() {
	b.mu.Lock()
	b.refs++
	b.mu.Unlock()
}

func (b *Block) release() {
	b.mu.Lock()
	b.refs--
	done := b.deleted && b.refs == 0
	b.mu.Unlock()
	if done {
		b.close()
		os.RemoveAll(b.dir)
	}
}

// markDeleted removes the block once no querier uses it. The directory is
// renamed at once (the mappings stay valid), so a rescan does not pick the block
// up again and a crash leaves only a temporary directory, removed at open.
func (b *Block) markDeleted() {
	b.mu.Lock()
	if tmp := b.dir + ".deleted.tmp"; os.Rename(b.dir, tmp) == nil {
		b.dir = tmp
	}
	b.deleted = true
	done := b.refs == 0
	b.mu.Unlock()
	if done {
		b.close()
		os.RemoveAll(b.dir)
	}
}

func (b *Block) close() error {
	return errors.Join(b.idxMap.Close(), b.chkMap.Close())
}

// chunk returns the encoded bytes of the chunk at ref, checking its crc.
func (b *Block) chunk(ref uint64) ([]byte, error) {
	if ref < chunksHeaderLen || ref >= uint64(len(b.chunks)) {
		return nil, fmt.Errorf("block %s: chunk ref %d out of range", b.meta.ULID, ref)
	}
	rest := b.chunks[ref:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) || uint64(len(rest)-k)-n < 4 {
		return nil, fmt.Errorf("block %s: chunk %d: bad length", b.meta.ULID, ref)
	}
	data := rest[k : k+int(n)]
	if crc32.Checksum(data, castagnoli) != binary.LittleEndian.Uint32(rest[k+int(n):]) {
		return nil, fmt.Errorf("block %s: chunk %d: checksum mismatch", b.meta.ULID, ref)
	}
	return data, nil
}

// blockWriter writes a new block into a temporary directory and publishes it.
// Series may be added in any order; the index is written sorted at the end.
type blockWriter struct {
	tmp, final string
	meta       BlockMeta
	f          *os.File
	w          *bufio.Writer
	pos        uint64
	series     []writtenSeries
	buf        []byte
}

type writtenSeries struct {
	lset   labels.Labels
	chunks []index.ChunkMeta
}

func newBlockWriter(parent string, mint, maxt int64, comp BlockCompaction) (*blockWriter, error) {
	id := newULID(time.Now())
	final := filepath.Join(parent, id)
	tmp := final + ".tmp"
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(tmp, chunksFilename))
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	w := &blockWriter{
		tmp: tmp, final: final, f: f, w: bufio.NewWriterSize(f, 1<<20),
		meta: BlockMeta{ULID: id, MinTime: mint, MaxTime: maxt, Compaction: comp, Version: 1},
	}
	var hdr [chunksHeaderLen]byte
	binary.LittleEndian.PutUint32(hdr[:], chunksMagic)
	hdr[4] = chunksVersion
	w.write(hdr[:])
	return w, nil
}

func (w *blockWriter) write(b []byte) {
	n, _ := w.w.Write(b) // Errors stick in the bufio.Writer; checked at flush.
	w.pos += uint64(n)
}

// addSeries encodes the samples (sorted by time, inside the block's range) of
// one series into chunks.
func (w *blockWriter) addSeries(lset labels.Labels, ts []int64, vs []float64) {
	if len(ts) == 0 {
		return
	}
	ws := writtenSeries{lset: lset}
	for start := 0; start < len(ts); start += maxChunkSamples {
		end := min(start+maxChunkSamples, len(ts))
		w.buf = chunkenc.Encode(w.buf[:0], ts[start:end], vs[start:end])
		ref := w.pos
		var hdr [binary.MaxVarintLen64]byte
		w.write(hdr[:binary.PutUvarint(hdr[:], uint64(len(w.buf)))])
		w.write(w.buf)
		w.write(binary.LittleEndian.AppendUint32(hdr[:0], crc32.Checksum(w.buf, castagnoli)))
		ws.chunks = append(ws.chunks, index.ChunkMeta{MinT: ts[start], MaxT: ts[end-1], Ref: ref})
		w.meta.Stats.NumChunks++
	}
	w.meta.Stats.NumSamples += uint64(len(ts))
	w.meta.Stats.NumSeries++
	w.series = append(w.series, ws)
}

// finish writes the index and meta.json, fsyncs everything and publishes the
// block under its final name. On error the temporary directory is removed.
func (w *blockWriter) finish() (BlockMeta, error) {
	meta, err := w.doFinish()
	if err != nil {
		w.abort()
	}
	return meta, err
}

func (w *blockWriter) doFinish() (BlockMeta, error) {
	if err := w.w.Flush(); err != nil {
		return w.meta, fmt.Errorf("write chunks: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return w.meta, fmt.Errorf("fsync chunks: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return w.meta, err
	}
	w.f = nil
	slices.SortFunc(w.series, func(a, b writtenSeries) int { return labels.Compare(a.lset, b.lset) })
	iw, err := index.NewWriter(filepath.Join(w.tmp, indexFilename))
	if err != nil {
		return w.meta, err
	}
	var syms []string
	for _, s := range w.series {
		s.lset.Range(func(l labels.Label) { syms = append(syms, l.Name, l.Value) })
	}
	if err := iw.AddSymbols(syms); err != nil {
		iw.Abort()
		return w.meta, err
	}
	for _, s := range w.series {
		if _, err := iw.AddSeries(s.lset, s.chunks); err != nil {
			iw.Abort()
			return w.meta, err
		}
	}
	if err := iw.Close(); err != nil {
		return w.meta, err
	}
	mb, err := json.MarshalIndent(w.meta, "", "\t")
	if err != nil {
		return w.meta, err
	}
	if err := os.WriteFile(filepath.Join(w.tmp, metaFilename), mb, 0o644); err != nil {
		return w.meta, err
	}
	if err := diskio.SyncTree(w.tmp); err != nil {
		return w.meta, err
	}
	if err := diskio.Publish(w.tmp, w.final); err != nil {
		return w.meta, err
	}
	return w.meta, nil
}

func (w *blockWriter) abort() {
	if w.f != nil {
		w.f.Close()
	}
	os.RemoveAll(w.tmp)
}

// listBlockDirs returns the block directories under dir. With cleanup (at
// open, when no writer can be active) it also removes leftovers of interrupted
// writes and finishes or discards interrupted imports.
func listBlockDirs(dir string, cleanup bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case !e.IsDir():
		case strings.HasSuffix(name, ".tmp"):
			if cleanup {
				os.RemoveAll(path)
			}
		case strings.HasSuffix(name, importStageSuffix):
			if !cleanup {
				continue
			}
			if _, err := os.Stat(filepath.Join(path, importCompleteTag)); err == nil {
				if err := finishImportStage(path); err != nil {
					return nil, fmt.Errorf("finish interrupted import %s: %w", name, err)
				}
				return listBlockDirs(dir, cleanup)
			}
			os.RemoveAll(path)
		case len(name) == 26:
			out = append(out, path)
		}
	}
	return out, nil
}

// overlaps reports whether [amin, amax] and [bmin, bmax] intersect.
func overlaps(amin, amax, bmin, bmax int64) bool { return amin <= bmax && bmin <= amax }

// maxTime is the exclusive end of a block as an inclusive bound.
func (b *Block) lastT() int64 {
	if b.meta.MaxTime == math.MinInt64 {
		return math.MinInt64
	}
	return b.meta.MaxTime - 1
}
