package query

import (
	"strings"
	"testing"
)

// FuzzQuote: a path becomes one SQL string literal whatever it holds, so
// a directory's name cannot end the literal and add SQL of its own.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a/b", "it's", "'; DROP TABLE calls; --", "''", "\\'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := quote(s)
		if len(q) < 2 || q[0] != '\'' || q[len(q)-1] != '\'' {
			t.Fatalf("quote(%q) = %s", s, q)
		}
		inner := q[1 : len(q)-1]
		// Inside, quotes come in pairs only.
		if strings.Count(strings.ReplaceAll(inner, "''", ""), "'") != 0 {
			t.Fatalf("quote(%q) = %s ends early", s, q)
		}
		if strings.ReplaceAll(inner, "''", "'") != s {
			t.Fatalf("quote(%q) = %s reads back differently", s, q)
		}
	})
}
