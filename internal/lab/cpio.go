package lab

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// cpioEntry is one member of a newc ("070701") archive, the format the
// kernel unpacks into its initramfs.
type cpioEntry struct {
	Name string // without a leading slash
	Mode uint32 // file type bits and permissions
	Data []byte // file contents, or the symlink target
	// Major and Minor are a device node's numbers.
	Major, Minor uint32
}

const (
	cpioDir     = 0o040000
	cpioFile    = 0o100000
	cpioSymlink = 0o120000
	cpioChar    = 0o020000
)

// writeCpio writes entries (parents before children, then by name) as a
// newc archive with fixed owners and times, so that equal inputs give
// byte-identical archives.
func writeCpio(w io.Writer, entries []cpioEntry) error {
	entries = withParents(entries)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	bw := bufio.NewWriter(w)
	ino := uint32(1)
	write := func(e cpioEntry) error {
		name := e.Name + "\x00"
		hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, e.Mode, 0, 0, 1, 0, len(e.Data), 0, 0, e.Major, e.Minor, len(name), 0)
		ino++
		if _, err := bw.WriteString(hdr + name); err != nil {
			return err
		}
		if err := pad4(bw, len(hdr)+len(name)); err != nil {
			return err
		}
		if _, err := bw.Write(e.Data); err != nil {
			return err
		}
		return pad4(bw, len(e.Data))
	}
	for _, e := range entries {
		if err := write(e); err != nil {
			return err
		}
	}
	if err := write(cpioEntry{Name: "TRAILER!!!"}); err != nil {
		return err
	}
	return bw.Flush()
}

func pad4(w io.Writer, n int) error {
	if r := n % 4; r != 0 {
		_, err := w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}

// withParents adds the directories that entries need and are missing.
func withParents(entries []cpioEntry) []cpioEntry {
	have := map[string]bool{}
	out := append([]cpioEntry(nil), entries...)
	for i := range out {
		out[i].Name = strings.Trim(path.Clean("/"+out[i].Name), "/")
		have[out[i].Name] = true
	}
	for _, e := range out[:len(entries)] {
		for d := path.Dir(e.Name); d != "." && d != "/" && !have[d]; d = path.Dir(d) {
			have[d] = true
			out = append(out, cpioEntry{Name: d, Mode: cpioDir | 0o755})
		}
	}
	return out
}
