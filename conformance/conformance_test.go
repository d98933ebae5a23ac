package conformance

import (
	"testing"
	"time"
)

// TestModel runs the table against the model. The real kernel runs the
// same table in the lab (kcovdf conformance).
func TestModel(t *testing.T) {
	res, err := Run(NewModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		switch {
		case r.Skipped != "":
			t.Logf("skip %s: %s", r.Case.Name, r.Skipped)
		case r.Err != nil:
			t.Errorf("%s (%s): %v", r.Case.Name, r.Case.Spec, r.Err)
		}
	}
}

func TestStressModel(t *testing.T) {
	res, err := Stress(NewModel(), 1, 50*time.Millisecond, 4096, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Dropped == 0 || res[0].Records == 0 {
		t.Fatalf("a 4096-word buffer for 50 ms of work must overflow: %+v", res[0])
	}
}
