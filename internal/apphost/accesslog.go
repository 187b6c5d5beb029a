package apphost

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/argus-mon/argus/internal/config"
)

// accessLogPath returns where an app's access log is written: next to its
// output log.
func accessLogPath(logDir, app string) string {
	return filepath.Join(logDir, app+".access.log")
}

// accessEntry is one request as the access log records it.
type accessEntry struct {
	Time         time.Time `json:"time"` // when the request arrived
	Remote       string    `json:"remote"`
	Host         string    `json:"host"`
	Method       string    `json:"method"`
	Path         string    `json:"path"` // the request URI as the client sent it
	Proto        string    `json:"proto"`
	Status       int       `json:"status"`
	Bytes        int64     `json:"bytes"`         // response body bytes
	RequestBytes int64     `json:"request_bytes"` // request body bytes read
	Duration     float64   `json:"duration_seconds"`
	Referer      string    `json:"referer,omitempty"`
	UserAgent    string    `json:"user_agent,omitempty"`
}

func newAccessEntry(r *http.Request, start time.Time, status int, bytes, requestBytes int64) *accessEntry {
	remote := r.RemoteAddr
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	return &accessEntry{
		Time: start, Remote: remote, Host: r.Host, Method: r.Method, Path: r.RequestURI, Proto: r.Proto,
		Status: status, Bytes: bytes, RequestBytes: requestBytes, Duration: time.Since(start).Seconds(),
		Referer: r.Referer(), UserAgent: r.UserAgent(),
	}
}

// appendEntry appends e to b as a line in format.
func appendEntry(b []byte, format string, e *accessEntry) []byte {
	if format == config.AccessLogJSON {
		j, err := json.Marshal(e)
		if err != nil {
			panic(fmt.Sprintf("BUG: marshal access log entry: %v", err))
		}
		return append(append(b, j...), '\n')
	}
	// Combined: host ident user [time] "request" status bytes "referer" "agent".
	b = append(b, e.Remote...)
	b = append(b, " - - ["...)
	b = e.Time.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = appendEscaped(b, e.Method+" "+e.Path+" "+e.Proto)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, ' ')
	if e.Bytes == 0 {
		b = append(b, '-')
	} else {
		b = strconv.AppendInt(b, e.Bytes, 10)
	}
	b = append(b, " \""...)
	b = appendEscaped(b, e.Referer)
	b = append(b, "\" \""...)
	b = appendEscaped(b, e.UserAgent)
	return append(b, "\"\n"...)
}

// appendEscaped appends s with quotes, backslashes and bytes that are not
// printable ASCII escaped as Apache does, so that a client cannot forge
// log lines or fields.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}
