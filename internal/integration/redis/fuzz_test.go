package redis

import (
	"bufio"
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/integration"
)

// FuzzReplies feeds arbitrary bytes to the RESP reader, as the replies to
// one collection's commands, and what it accepts to the INFO parser and
// the metric mapping: whatever a server sends, they must not panic.
func FuzzReplies(f *testing.F) {
	info := "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:5\r\nrole:master\r\n" +
		"# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n" +
		"# Commandstats\r\ncmdstat_get:calls=2,usec=5,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n" +
		"# Latencystats\r\nlatency_percentiles_usec_get:p50=1.003,p99=2.007,p99.9=2.007\r\n" +
		"# Errorstats\r\nerrorstat_ERR:count=1\r\n" +
		"# Replication\r\nslave0:ip=10.0.0.2,port=6379,state=online,offset=1,lag=0\r\nmaster_link_status:up\r\n"
	var seed []byte
	seed = appendBulk(seed, info)
	seed = append(seed, "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n:0\r\n*1\r\n*4\r\n:7\r\n:1700000000\r\n:12000\r\n*0\r\n"...)
	seed = append(seed, "*2\r\n$10\r\nio-threads\r\n$1\r\n1\r\n-ERR denied\r\n$-1\r\n"...)
	f.Add(seed)
	f.Add([]byte("-NOAUTH Authentication required.\r\n"))
	f.Add([]byte("*-1\r\n*3\r\n:1\r\n+OK\r\n$0\r\n\r\n"))
	f.Add([]byte("*9999999\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 1024)
		replies := make([]any, 8)
		for i := range replies {
			v, err := readReply(r)
			if err != nil {
				if i == 0 {
					return
				}
				break
			}
			replies[i] = v
		}
		var m integration.Metrics
		addReplies(&m, replies, time.Unix(1700000000, 0))
		m.Families()
	})
}

func appendBulk(dst []byte, s string) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, s...)
	return append(dst, "\r\n"...)
}
