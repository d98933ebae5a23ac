package conformance_test

import (
	"fmt"
	"time"

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

// One followed tree of the root, four threads and two processes (and a
// thread of the first) writing at once into one buffer; on a kernel
// without the follow mode the run is a skip.
func ExampleStressFollow() {
	res, err := conformance.StressFollow(conformance.NewModel(), 4, 2, 10*time.Millisecond, 1<<22, conformance.Options{})
	if why, ok := conformance.Skipped(err); ok {
		fmt.Println("skipped:", why)
		return
	}
	if err != nil {
		panic(err)
	}
	for _, t := range res.Tasks {
		fmt.Println(t.Kind, t.Records > 0)
	}
	// Output:
	// root true
	// thread true
	// thread true
	// thread true
	// thread true
	// process true
	// process true
	// thread of a child true
}
