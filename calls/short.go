package calls

import (
	"strconv"
	"strings"
)

// Short is the value's text with at most n fields of a struct (n <= 0:
// all), the rest counted: "{a=1, b=2, ...5 more}". Fields a Namer with
// MaxFields did not render are counted too.
func (r *Rendered) Short(n int) string {
	if n <= 0 || len(r.Fields) <= n {
		return r.Text
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range r.Fields[:n] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name + "=" + f.Text)
	}
	b.WriteString(", ..." + strconv.Itoa(len(r.Fields)-n+r.More) + " more}")
	return b.String()
}
