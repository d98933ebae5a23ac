//go:build !unix

package abi

import (
	"errors"
	"os"
)

// mapFile is unsupported here: LoadTrace reads the file instead.
func mapFile(*os.File, int64) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmapFile([]byte) error { return nil }

// mapSupported tells whether LoadTrace maps files here.
const mapSupported = false
