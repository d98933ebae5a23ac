package report

import (
	"bufio"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/kcovdf/kcovdf/abi"
)

// jsonWriter streams Data as JSON: a full trace's columns and strings
// are written as they are, without a second copy of the whole document
// in memory. Every string is escaped so that it is safe in a script
// element (<, > and & as \u escapes), as encoding/json does.
type jsonWriter struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

func (j *jsonWriter) flush() {
	if j.err == nil {
		_, j.err = j.w.Write(j.buf)
	}
	j.buf = j.buf[:0]
}

// value writes a small value with encoding/json.
func (j *jsonWriter) value(v any) {
	b, err := json.Marshal(v)
	if err != nil && j.err == nil {
		j.err = err
	}
	j.buf = append(j.buf, b...)
	j.flush()
}

func (j *jsonWriter) key(first bool, name string) {
	if !first {
		j.buf = append(j.buf, ',')
	}
	j.buf = append(j.buf, '"')
	j.buf = append(j.buf, name...)
	j.buf = append(j.buf, '"', ':')
}

const hexDigits = "0123456789abcdef"

func (j *jsonWriter) str(s string) {
	b := append(j.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	j.buf = append(b, '"')
	if len(j.buf) > 1<<15 {
		j.flush()
	}
}

func (j *jsonWriter) strs(ss []string) {
	j.buf = append(j.buf, '[')
	for i, s := range ss {
		if i > 0 {
			j.buf = append(j.buf, ',')
		}
		j.str(s)
	}
	j.buf = append(j.buf, ']')
	j.flush()
}

func ints[T int32 | uint32 | uint16](j *jsonWriter, vs []T) {
	j.buf = append(j.buf, '[')
	for i, v := range vs {
		if i > 0 {
			j.buf = append(j.buf, ',')
		}
		j.buf = strconv.AppendInt(j.buf, int64(v), 10)
		if len(j.buf) > 1<<15 {
			j.flush()
		}
	}
	j.buf = append(j.buf, ']')
	j.flush()
}

// data writes d; the keys are Data's and TaskData's JSON names.
func (j *jsonWriter) data(d *Data) error {
	j.buf = append(j.buf, '{')
	j.key(true, "version")
	j.value(d.Version)
	j.key(false, "title")
	j.str(d.Title)
	j.key(false, "strs")
	j.strs(d.Strs)
	j.key(false, "funcs")
	j.value(d.Funcs)
	j.key(false, "sigs")
	j.value(d.Sigs)
	j.key(false, "tasks")
	j.buf = append(j.buf, '[')
	for i := range d.Tasks {
		if i > 0 {
			j.buf = append(j.buf, ',')
		}
		j.task(&d.Tasks[i])
	}
	j.buf = append(j.buf, ']')
	j.key(false, "stats")
	j.value(d.Stats)
	j.key(false, "errnos")
	j.value(d.Errnos)
	j.buf = append(j.buf, '}')
	j.flush()
	return j.err
}

func (j *jsonWriter) task(t *TaskData) {
	// The small part with encoding/json, so that it keeps Meta's own
	// encoding; then the columns.
	head, err := json.Marshal(struct {
		Name   string    `json:"name"`
		Thread *Thread   `json:"thread,omitempty"`
		Meta   *abi.Meta `json:"meta,omitempty"`
		Exact  bool      `json:"exact"`
		Open   int       `json:"open"`
		Notes  []string  `json:"notes,omitempty"`
	}{t.Name, t.Thread, t.Meta, t.Exact, t.Open, t.Notes})
	if err != nil && j.err == nil {
		j.err = err
	}
	j.buf = append(j.buf, head[:len(head)-1]...)
	for _, c := range []struct {
		name string
		i32  []int32
	}{{"fn", t.Fn}, {"size", t.Size}, {"sig", t.Sig}, {"args", t.Args}, {"ret", t.Ret}} {
		j.key(false, c.name)
		ints(j, c.i32)
	}
	j.key(false, "flag")
	ints(j, t.Flag)
	j.key(false, "seq")
	ints(j, t.Seq)
	j.buf = append(j.buf, '}')
}
