package conformance_test

import (
	"fmt"

	"github.com/kcovdf/kcovdf/conformance"
)

// The model passes the whole table; on a kernel, pass
// &conformance.Device{Path: "/sys/kernel/debug/kcov_dataflow"} instead.
func ExampleRun() {
	res, err := conformance.Run(conformance.NewModel(), conformance.Options{})
	if err != nil {
		panic(err)
	}
	var passed, failed, skipped int
	for _, r := range res {
		switch {
		case r.Skipped != "":
			skipped++
		case r.Err != nil:
			failed++
		default:
			passed++
		}
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	// Output: 25 passed, 0 failed, 1 skipped
}
