package golden

import (
	"strings"
	"testing"
)

func TestPathOf(t *testing.T) {
	for _, c := range []struct {
		name, want string
		ok         bool
	}{
		{"decode.txt", "testdata/golden/decode.txt", true},
		{"help/sim.txt", "testdata/golden/help/sim.txt", true},
		{"../in/sim.kdf", "", false},
		{"a/../../x", "", false},
		{"/etc/passwd", "", false},
		{"", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := pathOf(c.name)
			if (err == nil) != c.ok || got != c.want {
				t.Fatalf("pathOf(%q) = %q, %v; want %q, ok %v", c.name, got, err, c.want, c.ok)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	for _, c := range []struct{ name, want, got, has string }{
		{"changed", "a\nb\nc\n", "a\nB\nc\n", "line 2:\n  want \"b\"\n  got  \"B\""},
		{"longer", "a\n", "a\nb\n", "line 2:"},
		{"shorter", "a\nb\n", "a\n", "line 2:"},
		{"same", "a\n", "a\n", "identical"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := Diff([]byte(c.want), []byte(c.got)); !strings.Contains(d, c.has) {
				t.Fatalf("Diff = %q, want it to contain %q", d, c.has)
			}
		})
	}
}
