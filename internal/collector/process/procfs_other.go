//go:build !linux

package process

import "errors"

// Only Linux has the /proc this package reads. These stubs let the module
// build elsewhere; New fails there with errors.ErrUnsupported.

func openDir(string) (int, error)        { return -1, errors.ErrUnsupported }
func openDirAt(int, string) (int, error) { return -1, errors.ErrUnsupported }
func closeFD(int)                        {}

func readFileAt(_ int, _ string, dst []byte) ([]byte, error) {
	return dst[:0], errors.ErrUnsupported
}

func readDir(_ int, buf []byte, _ func([]byte)) ([]byte, error) {
	return buf, errors.ErrUnsupported
}

func countDirAt(_ int, _ string, buf []byte) (int, []byte, error) {
	return 0, buf, errors.ErrUnsupported
}
