package scrape

import (
	"bytes"
	"sync"

	"github.com/klauspost/compress/gzip"

	fasttext "github.com/argus-mon/argus/internal/textparse"
)

// buffers hold a scrape's working memory (the page, the compressed page and
// the gzip state, the parsed entries), shared by all loops of a manager. A
// scrape takes what it needs and gives it back when done, so it works in the
// memory the previous scrape of any target has just used, still in the CPU
// cache, instead of memory of its own that has gone cold since its target
// was last scraped: with a hundred targets that difference is a tenth of the
// CPU of scraping. It also keeps the memory of the scrape path independent of
// the number of targets.
type buffers struct {
	pages   sync.Pool // *bytes.Buffer
	gzips   sync.Pool // *gzipState
	parsers sync.Pool // *fastParser
}

// gzipState is what decompressing a page needs.
type gzipState struct {
	r  *gzip.Reader // nil until the first page
	z  bytes.Buffer // the compressed page
	zr bytes.Reader
}

func newBuffers() *buffers { return &buffers{} }

func (b *buffers) page() *bytes.Buffer {
	if p, ok := b.pages.Get().(*bytes.Buffer); ok {
		p.Reset()
		return p
	}
	return &bytes.Buffer{}
}

// maxPooledBuffer is the largest buffer kept for reuse: one huge page
// must not stay in memory, handed from loop to loop, for ever.
const maxPooledBuffer = 4 << 20

func (b *buffers) putPage(p *bytes.Buffer) {
	if p.Cap() <= maxPooledBuffer {
		b.pages.Put(p)
	}
}

func (b *buffers) gzip() *gzipState {
	if g, ok := b.gzips.Get().(*gzipState); ok {
		return g
	}
	return &gzipState{}
}

func (b *buffers) putGzip(g *gzipState) {
	if g.z.Cap() <= maxPooledBuffer {
		b.gzips.Put(g)
	}
}

func (b *buffers) parser() *fastParser {
	if p, ok := b.parsers.Get().(*fastParser); ok {
		return p
	}
	return &fastParser{Prom: &fasttext.Prom{}}
}

func (b *buffers) putParser(p *fastParser) {
	p.Reset(nil) // Drops the reference to the page.
	b.parsers.Put(p)
}
