package debuginfo

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// cacheVersion changes whenever what an Index holds, or how it is read,
// changes: an entry of another version is rebuilt, never trusted.
const cacheVersion = 4

func cacheDir(opt string) string {
	switch opt {
	case "-":
		return ""
	case "":
		d, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(d, "kcovdf", "debuginfo")
	}
	return opt
}

var hexID = regexp.MustCompile(`^[0-9a-f]{8,128}$`)

func cachePath(dir, id string) (string, error) {
	if !hexID.MatchString(id) {
		return "", fmt.Errorf("build id %q is not hex", id)
	}
	return filepath.Join(dir, fmt.Sprintf("%s.v%d.gob", id, cacheVersion)), nil
}

// cached is what the cache file holds: the index without its derived
// tables.
type cached struct {
	Version int
	BuildID string
	Source  Source
	Rebase  uint64
	Text    bool
	Funcs   []Func
	Types   []Type
	Aliases map[string]uint64
	Stats   Stats
}

func loadCache(dir, id string) (*Index, error) {
	p, err := cachePath(dir, id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c cached
	if err := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if c.Version != cacheVersion || c.BuildID != id {
		return nil, fmt.Errorf("%s: stale entry", p)
	}
	ix := &Index{BuildID: c.BuildID, Source: c.Source, Rebase: c.Rebase, TextSymbols: c.Text, Funcs: c.Funcs, Types: c.Types, Aliases: c.Aliases, Stats: c.Stats}
	ix.index()
	return ix, nil
}

func saveCache(dir string, ix *Index) error {
	p, err := cachePath(dir, ix.BuildID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	c := cached{Version: cacheVersion, BuildID: ix.BuildID, Source: ix.Source, Rebase: ix.Rebase, Text: ix.TextSymbols, Funcs: ix.Funcs, Types: ix.Types, Aliases: ix.Aliases, Stats: ix.Stats}
	c.Stats.Cached = false
	err = gob.NewEncoder(w).Encode(&c)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}
