package textparse

// Parsing a node_exporter page with this parser and the upstream one:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./internal/textparse/ | tee parse.txt
//	benchstat parse.txt
//
// "series only" reads series text, value and timestamp of every sample, as a
// scrape with a warm cache does; "with labels" also builds every label set.

import (
	"errors"
	"io"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/model/textparse"

	"github.com/argus-mon/argus/internal/loadgen"
)

func benchPage(b *testing.B) []byte {
	gen, err := loadgen.New(loadgen.Options{Targets: 1, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	_, vals := gen.Next(nil)
	return gen.AppendText(nil, vals, "instance", "job")
}

func BenchmarkParse(b *testing.B) {
	page := benchPage(b)
	for _, withLabels := range []bool{false, true} {
		name := "series only"
		if withLabels {
			name = "with labels"
		}
		b.Run("argus/"+name, func(b *testing.B) {
			var p Prom
			var sb labels.ScratchBuilder
			var l labels.Labels
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if !p.Reset(page) {
					b.Fatal("page not accepted")
				}
				for {
					e, err := p.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if e == upstream.EntrySeries {
						p.Series()
						if withLabels {
							p.Labels(&sb, &l)
						}
					}
				}
			}
		})
		b.Run("upstream/"+name, func(b *testing.B) {
			st := labels.NewSymbolTable()
			var l labels.Labels
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				p := upstream.NewPromParser(page, st, false)
				for {
					e, err := p.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if e == upstream.EntrySeries {
						p.Series()
						if withLabels {
							p.Labels(&l)
						}
					}
				}
			}
		})
	}
}
