package redact_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/redact"
)

func Example() {
	var secret redact.Secret // redact.NewSecret() or redact.LoadSecret(path) in real use
	rt := secret.Trace(42)
	line := "do_sys_openat2+0x19(dfd=-100, filename=0x7ffe1234, how=0xffff888004114eb0) = 3"
	out := rt.Text(line)
	tok := redact.TokenText(rt.Word(0xffff888004114eb0))
	fmt.Println(out == "do_sys_openat2+0x19(dfd=-100, filename=0x7ffe1234, how="+tok+") = 3")
	w, _ := redact.ParseToken(tok)
	fmt.Println(redact.IsToken(w), w == rt.Word(0xffff888004114eb0))
	// Output:
	// true
	// true true
}
