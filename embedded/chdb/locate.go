package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Version is the libchdb release the project installs (scripts/install-chdb.sh).
const Version = "26.7.3"

// EnvLibrary names an environment variable holding the path of a libchdb.so
// to load instead of the cached one.
const EnvLibrary = "TOUCHSTREAM_CHDB_LIB"

// EnvCacheDir overrides the cache root (default ~/.cache/touchstream).
const EnvCacheDir = "TOUCHSTREAM_CACHE_DIR"

// ErrLibraryMissing is returned by LibraryPath when no libchdb.so is installed.
var ErrLibraryMissing = errors.New("libchdb.so is not installed")

// LibraryPath returns the libchdb.so to load: $TOUCHSTREAM_CHDB_LIB if set,
// otherwise the copy scripts/install-chdb.sh put in the cache.
func LibraryPath() (string, error) {
	if p := os.Getenv(EnvLibrary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvLibrary, p, err)
		}
		return p, nil
	}
	root := os.Getenv(EnvCacheDir)
	if root == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("locate libchdb: %w", err)
		}
		root = filepath.Join(dir, "touchstream")
	}
	p := filepath.Join(root, "chdb", Version, "libchdb.so")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w at %s: run `make build` (or scripts/install-chdb.sh) once, or set %s", ErrLibraryMissing, p, EnvLibrary)
	}
	return p, nil
}
