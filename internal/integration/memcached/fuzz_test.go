package memcached

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/argus-mon/argus/internal/integration"
)

// FuzzReadStats feeds arbitrary replies to the stats parser and the
// metric mapping: whatever a server sends, they must not panic, and what
// they accept must give one memcached_version series.
func FuzzReadStats(f *testing.F) {
	f.Add([]byte("STAT pid 1\r\nSTAT version 1.6.18\r\nSTAT rusage_user 0.012000\r\nSTAT get_hits 3\r\nEND\r\n" +
		"STAT maxconns 1024\r\nSTAT lru_crawler yes\r\nSTAT hot_lru_pct 20\r\nSTAT inter NULL\r\nEND\r\n" +
		"STAT 1:chunk_size 96\r\nSTAT 1:get_hits 2\r\nSTAT active_slabs 1\r\nSTAT total_malloced 1048576\r\nEND\r\n" +
		"STAT items:1:number 1\r\nSTAT items:1:hits_to_hot 0\r\nEND\r\n"))
	f.Add([]byte("END\r\nEND\r\nEND\r\nEND\r\n"))
	f.Add([]byte("STAT items:x:number 1\r\nEND\r\n"))
	f.Add([]byte("SERVER_ERROR busy\r\n"))
	f.Add([]byte("STAT  \r\nSTAT a\nEND"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := readStats(bufio.NewReaderSize(bytes.NewReader(data), 1024))
		if err != nil {
			return
		}
		var m integration.Metrics
		addMetrics(&m, s)
		fams := m.Families()
		for _, f := range fams {
			if f.GetName() == "memcached_version" && len(f.Metric) != 1 {
				t.Fatalf("%d memcached_version series", len(f.Metric))
			}
		}
	})
}
