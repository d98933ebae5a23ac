package report

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
	"github.com/kcovdf/kcovdf/calls"
)

// FuzzJSONString: the report's string encoder says what encoding/json
// says, and never writes a byte that could end the script element.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `</script>`, "a\"b\\c", "\x00\x1f\n\t", "\u2028\u2029", "\xff\xfe", "é€😀", "<!--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		j := &jsonWriter{w: bufio.NewWriter(&b)}
		j.str(s)
		j.flush()
		j.w.Flush()
		if bytes.ContainsAny(b.Bytes(), "<>&") {
			t.Fatalf("%q encodes to %q", s, b.Bytes())
		}
		var got, want string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%q encodes to %q: %v", s, b.Bytes(), err)
		}
		ref, _ := json.Marshal(s)
		json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("%q: got %q, encoding/json %q", s, got, want)
		}
	})
}

// FuzzWriteHTML: any area, decoded into calls as best it can be, makes a
// page whose data decodes and whose columns agree.
func FuzzWriteHTML(f *testing.F) {
	var seed []byte
	for _, w := range area([]abi.Record{entry(0xffffffff81000100, 0, 4, 7), ret(0xffffffff81000100, 4, 0xfffffffe)}) {
		seed = binary.LittleEndian.AppendUint64(seed, w)
	}
	f.Add(seed)
	f.Add([]byte("garbage that is no trace at all"))
	f.Fuzz(func(t *testing.T, b []byte) {
		words := make([]uint64, len(b)/8+1)
		for i := 0; i+8 <= len(b); i += 8 {
			words[i/8+1] = binary.LittleEndian.Uint64(b[i:])
		}
		words[0] = uint64(len(words) - 1)
		tree := calls.Build(words, abi.NewDecoder(words, abi.Options{Format: abi.FormatV2}), calls.Options{})
		var out bytes.Buffer
		if err := WriteHTML(&out, []Task{{Name: "fuzz", Tree: tree}}, Options{}); err != nil {
			t.Fatal(err)
		}
		d, err := dataOf(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		tk := d.Tasks[0]
		n := len(tree.Calls)
		if len(tk.Fn) != n || len(tk.Size) != n || len(tk.Ret) != n || len(tk.Sig) != n || len(tk.Flag) != n || len(tk.Seq) != n {
			t.Fatalf("columns of %d calls: %d %d %d %d", n, len(tk.Fn), len(tk.Size), len(tk.Ret), len(tk.Sig))
		}
		args := 0
		for i := range tk.Fn {
			args += len(d.Sigs[tk.Sig[i]].Args)
			if tk.Ret[i] >= int32(len(d.Strs)) || int(tk.Size[i]) > n-i-1 || tk.Size[i] < 0 {
				t.Fatalf("call %d out of range", i)
			}
		}
		if args != len(tk.Args) {
			t.Fatalf("%d args for signatures of %d", len(tk.Args), args)
		}
	})
}
