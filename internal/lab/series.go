package lab

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fileDiff is one file's part of a git patch.
type fileDiff struct {
	Path    string // the file after the change (b/ side), relative to the tree root
	OldPath string // before (a/ side)
	New     bool   // "new file mode"
	Deleted bool   // "deleted file mode"
	Hunks   []hunk
	Text    []byte // the whole section, from its "diff --git" line
}

// hunk is one "@@ -OldStart,OldLines +NewStart,NewLines @@" block.
type hunk struct {
	OldStart int
	Old, New []string // lines without their prefix, each ending in "\n" unless marked otherwise
}

// parsePatch splits a git patch (as git format-patch writes it) into its
// file diffs. Hunk bodies are delimited by their line counts, so a commit
// message or signature around them is never mistaken for a change.
func parsePatch(data []byte) ([]fileDiff, error) {
	lines := strings.SplitAfter(string(data), "\n")
	var out []fileDiff
	var cur *fileDiff
	start := 0 // byte offset of cur's "diff --git" line
	off := 0
	flush := func(end int) {
		if cur != nil {
			cur.Text = data[start:end]
			out = append(out, *cur)
			cur = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "diff --git "):
			flush(off)
			a, b, err := gitDiffPaths(strings.TrimSuffix(strings.TrimPrefix(l, "diff --git "), "\n"))
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", i+1, err)
			}
			cur = &fileDiff{OldPath: a, Path: b}
			start = off
		case cur == nil:
		case strings.HasPrefix(l, "new file mode"):
			cur.New = true
		case strings.HasPrefix(l, "deleted file mode"):
			cur.Deleted = true
		case strings.HasPrefix(l, "@@ "):
			h, oldN, newN, err := parseHunkHeader(l)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", i+1, err)
			}
			for oldN > 0 || newN > 0 {
				off += len(lines[i])
				i++
				if i >= len(lines) || lines[i] == "" {
					return nil, fmt.Errorf("%s: hunk at old line %d ends early", cur.Path, h.OldStart)
				}
				body := lines[i]
				if body == "\n" { // an empty context line some tools write bare
					body = " \n"
				}
				text := body[1:]
				switch body[0] {
				case ' ':
					h.Old = append(h.Old, text)
					h.New = append(h.New, text)
					oldN--
					newN--
				case '-':
					h.Old = append(h.Old, text)
					oldN--
				case '+':
					h.New = append(h.New, text)
					newN--
				case '\\':
					noNewline(&h, lines[i-1][0])
					continue
				default:
					return nil, fmt.Errorf("%s: bad hunk line %d: %q", cur.Path, i+1, body)
				}
				if oldN < 0 || newN < 0 {
					return nil, fmt.Errorf("%s: hunk at old line %d is longer than its header says", cur.Path, h.OldStart)
				}
			}
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\\") {
				off += len(lines[i])
				i++
				noNewline(&h, lines[i-1][0])
			}
			cur.Hunks = append(cur.Hunks, h)
		}
		off += len(lines[i])
	}
	flush(len(data))
	return out, nil
}

// noNewline applies "\ No newline at end of file" to the line before it,
// whose prefix is prev.
func noNewline(h *hunk, prev byte) {
	if (prev == '-' || prev == ' ') && len(h.Old) > 0 {
		h.Old[len(h.Old)-1] = strings.TrimSuffix(h.Old[len(h.Old)-1], "\n")
	}
	if (prev == '+' || prev == ' ') && len(h.New) > 0 {
		h.New[len(h.New)-1] = strings.TrimSuffix(h.New[len(h.New)-1], "\n")
	}
}

// gitDiffPaths splits "a/X b/Y" (paths without spaces, as in the kernel).
func gitDiffPaths(s string) (string, string, error) {
	f := strings.Fields(s)
	if len(f) != 2 || !strings.HasPrefix(f[0], "a/") || !strings.HasPrefix(f[1], "b/") {
		return "", "", fmt.Errorf("cannot read the paths of %q", "diff --git "+s)
	}
	return f[0][2:], f[1][2:], nil
}

func parseHunkHeader(l string) (hunk, int, int, error) {
	var h hunk
	f := strings.Fields(l)
	if len(f) < 4 || !strings.HasPrefix(f[1], "-") || !strings.HasPrefix(f[2], "+") || f[3] != "@@" {
		return h, 0, 0, fmt.Errorf("bad hunk header %q", strings.TrimSpace(l))
	}
	rng := func(s string) (int, int, error) {
		a, b, found := strings.Cut(s, ",")
		start, err := strconv.Atoi(a)
		if err != nil {
			return 0, 0, err
		}
		n := 1
		if found {
			if n, err = strconv.Atoi(b); err != nil {
				return 0, 0, err
			}
		}
		return start, n, nil
	}
	oldStart, oldN, err1 := rng(f[1][1:])
	_, newN, err2 := rng(f[2][1:])
	if err1 != nil || err2 != nil || oldN < 0 || newN < 0 {
		return h, 0, 0, fmt.Errorf("bad hunk header %q", strings.TrimSpace(l))
	}
	h.OldStart = oldStart
	return h, oldN, newN, nil
}

// apply applies the hunks to content. A hunk must match exactly (no fuzz);
// like patch, it may sit at another line when lines were added or removed
// above it, and the nearest match wins.
func (d fileDiff) apply(content []byte) ([]byte, error) {
	lines := strings.SplitAfter(string(content), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var out []string
	pos := 0 // next line of lines not yet copied
	for _, h := range d.Hunks {
		want := h.OldStart - 1
		if len(h.Old) == 0 {
			want = h.OldStart // insertion after line OldStart
		}
		at := -1
		for delta := 0; at < 0 && (want-delta >= pos || want+delta <= len(lines)); delta++ {
			for _, c := range []int{want - delta, want + delta} {
				if c >= pos && c+len(h.Old) <= len(lines) && equalLines(lines[c:c+len(h.Old)], h.Old) {
					at = c
					break
				}
			}
		}
		if at < 0 {
			return nil, fmt.Errorf("%s: hunk at line %d does not apply", d.Path, h.OldStart)
		}
		out = append(out, lines[pos:at]...)
		out = append(out, h.New...)
		pos = at + len(h.Old)
	}
	out = append(out, lines[pos:]...)
	return []byte(strings.Join(out, "")), nil
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// seriesFiles returns the contents of the files want after applying the
// patches in order to base (the pristine contents of files the series
// modifies; a file absent from base does not exist before the series).
// Only the parts of the patches that touch want are read, so the rest of
// the tree is not needed. A wanted file the series does not end up with is
// an error.
func seriesFiles(patches []string, base map[string][]byte, want []string) (map[string][]byte, error) {
	files := map[string][]byte{}
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
		if b, ok := base[w]; ok {
			files[w] = b
		}
	}
	for _, p := range patches {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		diffs, err := parsePatch(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Base(p), err)
		}
		for _, d := range diffs {
			if !wanted[d.Path] && !wanted[d.OldPath] {
				continue
			}
			if d.Path != d.OldPath {
				return nil, fmt.Errorf("%s: renames %s to %s, which is not supported", filepath.Base(p), d.OldPath, d.Path)
			}
			cur, exists := files[d.Path]
			switch {
			case d.New && exists:
				return nil, fmt.Errorf("%s: creates %s, which exists", filepath.Base(p), d.Path)
			case !d.New && !exists:
				return nil, fmt.Errorf("%s: changes %s, which does not exist", filepath.Base(p), d.Path)
			case d.Deleted:
				delete(files, d.Path)
				continue
			}
			next, err := d.apply(cur)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", filepath.Base(p), err)
			}
			files[d.Path] = next
		}
	}
	for _, w := range want {
		if _, ok := files[w]; !ok {
			return nil, fmt.Errorf("the patch series does not provide %s", w)
		}
	}
	return files, nil
}

// kernelPart is the part of a patch that can change a kernel build: the
// file diffs outside tools/testing/selftests/ (a patch's message or a test
// does not change the kernel). It is nil when the patch touches no
// selftest, so that such a patch keeps the hash of its whole file.
func kernelPart(data []byte) ([]byte, error) {
	diffs, err := parsePatch(data)
	if err != nil {
		return nil, err
	}
	var kept bytes.Buffer
	dropped := false
	for _, d := range diffs {
		if strings.HasPrefix(d.Path, selftestsDir+"/") && strings.HasPrefix(d.OldPath, selftestsDir+"/") {
			dropped = true
			continue
		}
		kept.Write(d.Text)
	}
	if !dropped {
		return nil, nil
	}
	return kept.Bytes(), nil
}
