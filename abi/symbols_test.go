package abi

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBindStaticsByFile links two C files that each define a static
// helper() of a different shape; vmlinux-style STT_FILE symbols must give
// each address its own shape, where System.map alone cannot.
func TestBindStaticsByFile(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	files := map[string]string{
		"a.c":    "__attribute__((noinline)) static int helper(int x) { return x + 1; }\nint fa(int x) { return helper(x); }\n",
		"b.c":    "struct s { long a, b, c; };\n__attribute__((noinline)) static long helper(struct s *p) { return p->a; }\nlong fb(struct s *p) { return helper(p); }\n",
		"main.c": "int fa(int); long fb(void *);\nint main(void) { return fa(1) + (int)fb(0); }\n",
	}
	var srcs []string
	for name, src := range files {
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
		srcs = append(srcs, filepath.Join(dir, name))
	}
	bin := filepath.Join(dir, "prog")
	if out, err := exec.Command(cc, append([]string{"-O0", "-o", bin}, srcs...)...).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	syms, err := LoadSymbols(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(syms["helper"]) != 2 {
		t.Fatalf("helper symbols: %+v", syms["helper"])
	}
	layout := `{"func":"helper","file":"lib/a.c","static":true,"args":[{"idx":0,"size":4,"fields":[]}],"ret":{"size":4,"fields":[]}}
{"func":"helper","file":"lib/b.c","static":true,"args":[{"idx":0,"size":8,"fields":[{"off":0,"size":8},{"off":8,"size":8},{"off":16,"size":8}]}],"ret":{"size":8,"fields":[]}}
`
	l, err := ReadLayout(strings.NewReader(layout), "l.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	bound, missing, ambiguous := l.Bind(syms)
	if bound != 2 || len(missing) != 0 || len(ambiguous) != 0 {
		t.Fatalf("bound %d missing %v ambiguous %v", bound, missing, ambiguous)
	}
	table, _ := TableFromLayout(l, 0)
	for _, s := range syms["helper"] {
		want := map[string]int{"a.c": 4, "b.c": 6}[s.File]
		if got := table.RecordLen(s.Addr, KindEntry, 0); got != want {
			t.Errorf("helper in %s at %#x: %d words, want %d", s.File, s.Addr, got, want)
		}
	}
	// Without files (System.map), the two shapes cannot be told apart.
	plain := Symbols{"helper": {{Addr: syms["helper"][0].Addr}, {Addr: syms["helper"][1].Addr}}}
	l2, _ := ReadLayout(strings.NewReader(layout), "l.jsonl")
	if _, _, amb := l2.Bind(plain); len(amb) != 1 {
		t.Fatalf("System.map binding should report helper ambiguous, got %v", amb)
	}
}
