package conformance

import "testing"

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
