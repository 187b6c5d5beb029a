package wal

import (
	"fmt"
	"os"
	"slices"
	"strconv"
)

// segmentName returns the file name of segment index.
func segmentName(index int) string {
	return fmt.Sprintf("%08d", index)
}

// parseSegmentName returns the index of a segment file name, accepting only
// names segmentName produces so that stray files ("00000001.tmp",
// "000000001") are ignored rather than misread.
func parseSegmentName(name string) (int, bool) {
	if len(name) < 8 {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	idx, err := strconv.Atoi(name)
	if err != nil || segmentName(idx) != name {
		return 0, false
	}
	return idx, true
}

// listSegments returns the indexes of the segment files in dir, ascending.
func listSegments(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list WAL segments: %w", err)
	}
	var indexes []int
	for _, e := range entries {
		if idx, ok := parseSegmentName(e.Name()); ok {
			indexes = append(indexes, idx)
		}
	}
	slices.Sort(indexes)
	return indexes, nil
}

// syncDir fsyncs a directory so that file creations, deletions and
// truncations recorded in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
