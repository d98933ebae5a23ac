// Package docs_test keeps the specification under docs/ in step with the
// code: the numbers it prints are abi's, and its links resolve.
package docs_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/kcovdf/kcovdf/abi"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ioctlRow matches a row of device.md's ioctl table: name, definition,
// number.
var ioctlRow = regexp.MustCompile("^\\| `(KCOV_DF_[A-Z_]+)` \\| ([^|]+) \\| `(0x[0-9a-f]+)` \\|")

// ioctlDef reads `_IO('d', nr)`, `_IOR('d', nr, T)` or `_IOW('d', nr, T)`.
var ioctlDef = regexp.MustCompile("^`_IO(R|W)?\\('d', (\\d+)(?:, ([a-z_0-9 ]+))?\\)`$")

// TestIoctlTable checks every number of device.md's ioctl table against
// abi, and against the definition printed beside it.
func TestIoctlTable(t *testing.T) {
	want := map[string]uint32{
		"KCOV_DF_INIT_TRACE":     abi.IoctlInitTrace,
		"KCOV_DF_INIT_TRACK":     abi.IoctlInitTrace, // v3's name
		"KCOV_DF_GET_DROPPED":    abi.IoctlGetDropped,
		"KCOV_DF_ENABLE":         abi.IoctlEnable,
		"KCOV_DF_DISABLE":        abi.IoctlDisable,
		"KCOV_DF_ENABLE_FOLLOW":  abi.IoctlEnableFollow,
		"KCOV_DF_REMOTE_ENABLE":  abi.IoctlRemoteEnable,
		"KCOV_DF_REMOTE_DISABLE": abi.IoctlRemoteDisable,
	}
	seen := map[string]bool{}
	for line := range strings.Lines(read(t, "device.md")) {
		m := ioctlRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, def, num := m[1], strings.TrimSpace(m[2]), m[3]
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("device.md lists %s, which abi does not know", name)
			}
			seen[name] = true
			got, err := strconv.ParseUint(num, 0, 32)
			if err != nil || uint32(got) != w {
				t.Errorf("device.md says %s is %s, abi says %#x", name, num, w)
			}
			if d := ioctlDef.FindStringSubmatch(def); d != nil {
				if n := encode(t, d[1], d[2], d[3]); n != w {
					t.Errorf("device.md defines %s as %s = %#x, abi says %#x", name, def, n, w)
				}
			} else if !strings.HasPrefix(def, "same as") {
				t.Errorf("%s: definition %q not understood", name, def)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("device.md's ioctl table lacks %s", name)
		}
	}
}

// encode computes an x86-64 ioctl number from its definition.
func encode(t *testing.T, dir, nr, typ string) uint32 {
	n, _ := strconv.Atoi(nr)
	size, ok := map[string]uint32{"": 0, "unsigned long": 8, "__u64": 8}[typ]
	if !ok {
		t.Fatalf("unknown argument type %q", typ)
	}
	d := map[string]uint32{"": 0, "W": 1, "R": 2}[dir]
	return d<<30 | size<<16 | 'd'<<8 | uint32(n)
}

// commas formats n as the pages do: 16,777,216.
func commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestConstants checks that the pages state abi's limits and bit values.
func TestConstants(t *testing.T) {
	for _, c := range []struct {
		page, text string
	}{
		{"device.md", fmt.Sprintf("%d ≤ n ≤ %s", abi.MinWords, commas(abi.MaxWords))},
		{"device.md", fmt.Sprintf("(%d MiB)", abi.MaxWords*8>>20)},
		{"records.md", fmt.Sprintf("%s (2^%d − 1)", commas(abi.SeqMask), abi.SeqBits)},
		{"records.md", fmt.Sprintf("clamped to %d", abi.MaxSize)},
		{"records.md", fmt.Sprintf("top %s addresses", commas(abi.MaxErrno))},
		{"records.md", fmt.Sprintf("`0x%X`", abi.BadAddr)},
		{"records.md", fmt.Sprintf("type `0x%X` entry, `0x%X` return, `0x%X` comparison", uint8(abi.KindEntry), uint8(abi.KindReturn), uint8(abi.KindCompare))},
		{"records.md", "3 + max(num_fields, 1)"},
		{"follow.md", fmt.Sprintf("magic `%#x`", abi.ChunkMagic)},
		{"follow.md", fmt.Sprintf("default, %s", commas(abi.FollowDefaultChunk))},
		{"follow.md", fmt.Sprintf("from %d to %s words", abi.FollowMinChunk, commas(abi.FollowMaxChunk))},
		{"follow.md", fmt.Sprintf("C − %d words", abi.ChunkHeaderWords)},
		{"follow.md", fmt.Sprintf("a v1 area** of C − %d words", abi.ChunkUsed)},
		{"tracefile.md", "`" + abi.TraceMagic + "`"},
		{"tracefile.md", fmt.Sprintf("format version, u32: %d", abi.TraceVersion)},
	} {
		t.Run(c.page+": "+c.text, func(t *testing.T) {
			if !strings.Contains(read(t, c.page), c.text) {
				t.Errorf("%s does not say %q", c.page, c.text)
			}
		})
	}
}

// TestRecordLengths checks the length rule the pages give against abi.
func TestRecordLengths(t *testing.T) {
	for _, n := range []int{0, 1, 2, 157} {
		if got, want := abi.RecordWords(n), 3+max(n, 1); got != want {
			t.Errorf("RecordWords(%d) = %d, records.md says 3 + max(num_fields, 1) = %d", n, got, want)
		}
	}
}

var link = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// markdown returns the lines of a Markdown file outside fenced code.
func markdown(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	fenced := false
	sc := bufio.NewScanner(strings.NewReader(read(t, path)))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, l)
		}
	}
	return out
}

// anchors returns the heading anchors of a Markdown file, as GitHub
// makes them: lower case, punctuation dropped, spaces to hyphens.
func anchors(t *testing.T, path string) map[string]bool {
	set := map[string]bool{}
	for _, l := range markdown(t, path) {
		h := strings.TrimLeft(l, "#")
		if len(h) == len(l) || !strings.HasPrefix(h, " ") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(h)) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		set[b.String()] = true
	}
	return set
}

// TestLinks checks every relative link of the pages, and every link into
// docs/ from the rest of the repository: the file exists, and so does
// the heading an anchor names.
func TestLinks(t *testing.T) {
	var files []string
	filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	docs, _ := filepath.Abs(".")
	checked := 0
	for _, f := range files {
		dir, _ := filepath.Abs(filepath.Dir(f))
		inDocs := dir == docs
		for _, l := range markdown(t, f) {
			for _, m := range link.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				dest := f
				if path != "" {
					dest = filepath.Join(filepath.Dir(f), path)
				}
				abs, _ := filepath.Abs(dest)
				if !inDocs && !strings.HasPrefix(abs, docs+string(filepath.Separator)) {
					continue
				}
				checked++
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %s: %v", f, target, err)
					continue
				}
				if anchor != "" && strings.HasSuffix(dest, ".md") && !anchors(t, dest)[anchor] {
					t.Errorf("%s: link %s: %s has no heading #%s", f, target, dest, anchor)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d links checked: the walk missed the pages", checked)
	}
}
