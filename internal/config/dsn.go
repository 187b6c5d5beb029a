package config

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// defaultPostgresPort is the port of a DSN that names none, as for libpq.
const defaultPostgresPort = "5432"

// dsnAddress returns the address a PostgreSQL connection string connects
// to, as the instance label: host:port, or the socket path for a host that
// is a directory. Only the first of several hosts counts. Its errors never
// quote the DSN, which may hold a password.
func dsnAddress(dsn string) (string, error) {
	var host, port string
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		host, port, err = urlDSNHost(dsn)
	} else {
		host, port, err = keywordDSNHost(dsn)
	}
	if err != nil {
		return "", err
	}
	host, _, _ = strings.Cut(host, ",")
	port, _, _ = strings.Cut(port, ",")
	if port == "" {
		port = defaultPostgresPort
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", errors.New("dsn: the port is not a number from 1 to 65535")
	}
	switch {
	case host == "":
		host = "localhost"
	case strings.HasPrefix(host, "/"):
		return strings.TrimRight(host, "/") + "/.s.PGSQL." + port, nil
	}
	return net.JoinHostPort(host, port), nil
}

// urlDSNHost returns the host and port of a postgres:// URL: those of the
// authority, or of the host and port parameters, which libpq lets name a
// socket directory.
func urlDSNHost(dsn string) (host, port string, err error) {
	rest := dsn[strings.Index(dsn, "://")+3:]
	authority, query := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
		if j := strings.IndexByte(rest, '?'); j >= 0 {
			query = rest[j+1:]
		}
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return "", "", errors.New("dsn: the URL's parameters are not valid")
	}
	first, _, _ := strings.Cut(authority, ",")
	if first != "" {
		host, port = first, ""
		if strings.HasPrefix(first, "[") || strings.Count(first, ":") == 1 {
			if h, p, err := net.SplitHostPort(first); err == nil {
				host, port = h, p
			} else if !strings.HasPrefix(first, "[") {
				return "", "", errors.New("dsn: the URL's host is not host or host:port")
			}
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if host, err = url.PathUnescape(host); err != nil {
			return "", "", errors.New("dsn: the URL's host is not valid")
		}
	}
	if host == "" {
		host = params.Get("host")
	}
	if port == "" {
		port = params.Get("port")
	}
	return host, port, nil
}

// keywordDSNHost returns the host (or hostaddr) and port of a connection
// string of key=value pairs, whose values may be single-quoted with
// backslash escapes, as libpq reads them.
func keywordDSNHost(dsn string) (host, port string, err error) {
	s := strings.TrimSpace(dsn)
	var hostaddr string
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return "", "", errors.New("dsn: neither a postgres:// URL nor key=value pairs")
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n")
		var val string
		if val, s, err = dsnValue(s); err != nil {
			return "", "", err
		}
		switch key {
		case "host":
			host = val
		case "hostaddr":
			hostaddr = val
		case "port":
			port = val
		}
		s = strings.TrimLeft(s, " \t\n")
	}
	if host == "" {
		host = hostaddr
	}
	return host, port, nil
}

// dsnValue splits the value at the start of s off the rest.
func dsnValue(s string) (val, rest string, err error) {
	if !strings.HasPrefix(s, "'") {
		end := strings.IndexAny(s, " \t\n")
		if end < 0 {
			end = len(s)
		}
		return s[:end], s[end:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '\'':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("dsn: a quoted value is not closed")
}
