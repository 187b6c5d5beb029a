package memcached

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// stats is what the four stats commands returned.
type stats struct {
	// general holds "stats" and the server-wide lines of "stats slabs"
	// (active_slabs, total_malloced), as memcached_exporter reads them.
	general map[string]string
	// settings holds "stats settings".
	settings map[string]string
	// slabs and items hold "stats slabs" (N:key) and "stats items"
	// (items:N:key) by slab class id.
	slabs, items map[string]map[string]string
}

// commands are sent pipelined, in one write; replies come in this order.
var commands = []string{"stats", "stats settings", "stats slabs", "stats items"}

// maxStatLines bounds one reply, so that a server sending lines without
// end cannot exhaust memory before the timeout.
const maxStatLines = 100_000

// readStats reads the replies to the pipelined commands.
func readStats(r *bufio.Reader) (*stats, error) {
	s := &stats{
		general:  map[string]string{},
		settings: map[string]string{},
		slabs:    map[string]map[string]string{},
		items:    map[string]map[string]string{},
	}
	for _, cmd := range commands {
		err := readReply(r, cmd, func(key, value string) error { return s.add(cmd, key, value) })
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// add files one STAT line of the reply to cmd.
func (s *stats) add(cmd, key, value string) error {
	switch cmd {
	case "stats":
		s.general[key] = value
	case "stats settings":
		s.settings[key] = value
	case "stats slabs":
		id, field, ok := strings.Cut(key, ":")
		if !ok {
			s.general[key] = value
			return nil
		}
		slab, err := slabID(id)
		if err != nil {
			return fmt.Errorf("reply to %q: %w", cmd, err)
		}
		perSlab(s.slabs, slab)[field] = value
	case "stats items":
		rest, ok := strings.CutPrefix(key, "items:")
		id, field, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			return fmt.Errorf("reply to %q: unexpected stat %q", cmd, key)
		}
		slab, err := slabID(id)
		if err != nil {
			return fmt.Errorf("reply to %q: %w", cmd, err)
		}
		perSlab(s.items, slab)[field] = value
	}
	return nil
}

func perSlab(m map[string]map[string]string, slab string) map[string]string {
	h, ok := m[slab]
	if !ok {
		h = map[string]string{}
		m[slab] = h
	}
	return h
}

// slabID normalises a slab class id, as the exporter's slab label is the
// id printed as a number.
func slabID(s string) (string, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return "", fmt.Errorf("bad slab class id %q", s)
	}
	return strconv.FormatUint(id, 10), nil
}

// readReply reads one reply, "STAT <key> <value>" lines up to "END",
// calling add for each. The value is the rest of the line: some settings
// (and MySQL's memcached plugin) have values with spaces.
func readReply(r *bufio.Reader, cmd string, add func(key, value string) error) error {
	for n := 0; ; n++ {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("reply to %q: line longer than %d bytes", cmd, r.Size())
		}
		if err != nil {
			return fmt.Errorf("read reply to %q: %w", cmd, err)
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if string(line) == "END" {
			return nil
		}
		if n == maxStatLines {
			return fmt.Errorf("reply to %q: more than %d lines", cmd, maxStatLines)
		}
		rest, ok := bytes.CutPrefix(line, []byte("STAT "))
		if !ok {
			return replyError(cmd, line)
		}
		key, value, _ := bytes.Cut(rest, []byte(" "))
		if len(key) == 0 {
			return fmt.Errorf("reply to %q: STAT line without a name", cmd)
		}
		if err := add(string(key), string(bytes.TrimSpace(value))); err != nil {
			return err
		}
	}
}

// replyError describes a line that is neither STAT nor END: an error the
// server reports, or something that is not memcached at all.
func replyError(cmd string, line []byte) error {
	const maxShown = 100
	shown := line
	if len(shown) > maxShown {
		shown = shown[:maxShown]
	}
	for _, prefix := range []string{"ERROR", "CLIENT_ERROR", "SERVER_ERROR"} {
		if bytes.HasPrefix(line, []byte(prefix)) {
			return fmt.Errorf("memcached answered %q with %q", cmd, shown)
		}
	}
	return fmt.Errorf("unexpected line %q in the reply to %q: not a memcached server?", shown, cmd)
}
