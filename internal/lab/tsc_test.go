package lab

import (
	"strings"
	"testing"
	"time"
)

// TestHostTSCKHz: two measurements agree within 2% (a TSC has one rate),
// and the rate is what the guest is told.
func TestHostTSCKHz(t *testing.T) {
	if !haveTSC {
		t.Skip("no TSC on this architecture")
	}
	a, b := measureTSC(20*time.Millisecond), HostTSCKHz()
	if a == 0 || b == 0 {
		t.Fatalf("TSC rate %d kHz and %d kHz: want both plausible", a, b)
	}
	if d := float64(a-b) / float64(b); d > 0.02 || d < -0.02 {
		t.Errorf("TSC rate %d kHz then %d kHz: more than 2%% apart", a, b)
	}
	m := Machine{Kernel: &Kernel{BzImage: "/k"}, Initramfs: &Initramfs{Path: "/i"}, TSCKHz: 2_400_000}
	args := QEMUArgs(m, "run", "/c", "/h", "/s", false)
	for i, a := range args {
		if a == "-append" {
			if want := "tsc_early_khz=2400000 tsc=reliable"; !strings.Contains(args[i+1], want) {
				t.Errorf("-append %q lacks %q", args[i+1], want)
			}
			return
		}
	}
	t.Error("no -append")
}
