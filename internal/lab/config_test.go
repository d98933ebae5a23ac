package lab

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestConfigFragment(t *testing.T) {
	got := ConfigFragment([]Option{{"KCOV", "y"}, {"SLUB_TINY", "n"}, {"NR_CPUS", "4"}})
	want := "CONFIG_KCOV=y\n# CONFIG_SLUB_TINY is not set\nCONFIG_NR_CPUS=4\n"
	if got != want {
		t.Errorf("ConfigFragment:\n%s\nwant:\n%s", got, want)
	}
}

func names(opts []Option) []string {
	var n []string
	for _, o := range opts {
		n = append(n, o.String())
	}
	return n
}

func TestWantedOptions(t *testing.T) {
	plain := names(KernelOptions{}.WantedOptions(true))
	for _, want := range []string{
		"CONFIG_KCOV=y", "CONFIG_DEBUG_FS=y", "CONFIG_DEBUG_INFO_DWARF5=y",
		"CONFIG_KCOV_DATAFLOW_ARGS=y", "CONFIG_KCOV_DATAFLOW_RET=y",
		"CONFIG_9P_FS=y", "CONFIG_NET_9P_VIRTIO=y", "CONFIG_VIRTIO_MMIO=y", "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y",
		// The microvm guest needs neither, and they cost a quarter of the build.
		"CONFIG_ACPI=n", "CONFIG_PCI=n",
		"CONFIG_EPOLL=y", "CONFIG_BUG=y", "CONFIG_SERIAL_8250_CONSOLE=y", "CONFIG_BLK_DEV_INITRD=y",
	} {
		if !slices.Contains(plain, want) {
			t.Errorf("plain kernel lacks %s", want)
		}
	}
	for _, no := range []string{"CONFIG_KASAN=y", "CONFIG_PROVE_LOCKING=y", "CONFIG_ACPI=y", "CONFIG_PCI=y", "CONFIG_VIRTIO_PCI=y"} {
		if slices.Contains(plain, no) {
			t.Errorf("plain kernel has %s", no)
		}
	}
	if slices.Contains(names(KernelOptions{}.WantedOptions(false)), "CONFIG_KCOV_DATAFLOW_ARGS=y") {
		t.Error("dataflow=false still asks for CONFIG_KCOV_DATAFLOW_ARGS")
	}
	all := names(KernelOptions{Instrument: "all"}.WantedOptions(true))
	if !slices.Contains(all, "CONFIG_KCOV_DATAFLOW_INSTRUMENT_ALL=y") || slices.Contains(plain, "CONFIG_KCOV_DATAFLOW_INSTRUMENT_ALL=y") {
		t.Error("CONFIG_KCOV_DATAFLOW_INSTRUMENT_ALL must be set for --instrument=all only")
	}
	kasan := names(KernelOptions{KASAN: true}.WantedOptions(true))
	for _, want := range []string{"CONFIG_KASAN=y", "CONFIG_KASAN_GENERIC=y", "CONFIG_KASAN_INLINE=y",
		"CONFIG_STACKTRACE=y", "CONFIG_PROVE_LOCKING=y", "CONFIG_SLUB_TINY=n"} {
		if !slices.Contains(kasan, want) {
			t.Errorf("KASAN kernel lacks %s", want)
		}
	}
	extra := names(KernelOptions{Extra: []Option{{"LOG_BUF_SHIFT", "17"}}}.WantedOptions(false))
	if extra[len(extra)-1] != "CONFIG_LOG_BUF_SHIFT=17" {
		t.Errorf("extra option not last: %v", extra[len(extra)-1])
	}
}

func TestSelection(t *testing.T) {
	for _, c := range []struct {
		in     string
		plugin bool
		sel    string
		err    bool
	}{
		{"", true, DefaultSelect, false},
		{"default", true, DefaultSelect, false},
		{"all", true, "", false},
		{"none", false, "", false},
		{"  fs/   lib/string.o ", true, "fs/ lib/string.o", false},
		{"/etc/", false, "", true},
		{"fs/../mm", false, "", true},
	} {
		t.Run(fmt.Sprintf("%q", c.in), func(t *testing.T) {
			plugin, sel, err := KernelOptions{Instrument: c.in}.Selection()
			if (err != nil) != c.err || plugin != c.plugin || sel != c.sel {
				t.Errorf("Selection(%q) = %v, %q, %v; want %v, %q, err %v", c.in, plugin, sel, err, c.plugin, c.sel, c.err)
			}
		})
	}
}

func TestParseConfigAndMissing(t *testing.T) {
	cfg := `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_64BIT=y
CONFIG_KCOV=y
# CONFIG_KASAN is not set
CONFIG_LOG_BUF_SHIFT=17
CONFIG_DEFAULT_HOSTNAME="(none)"
`
	got, err := ParseConfig(strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"64BIT": "y", "KCOV": "y", "KASAN": "n", "LOG_BUF_SHIFT": "17", "DEFAULT_HOSTNAME": `"(none)"`}
	if len(got) != len(want) {
		t.Errorf("ParseConfig: %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ParseConfig[%s] = %q, want %q", k, got[k], v)
		}
	}
	missing := MissingOptions([]Option{{"KCOV", "y"}, {"KASAN", "y"}, {"9P_FS", "y"}, {"SLUB_TINY", "n"}, {"LOG_BUF_SHIFT", "17"}}, got)
	wantMissing := []string{"9P_FS=y (got absent)", "KASAN=y (got n)"}
	if !slices.Equal(missing, wantMissing) {
		t.Errorf("MissingOptions = %q, want %q", missing, wantMissing)
	}
}

func TestMissingPackages(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("not a Debian host")
	}
	missing, err := MissingPackages(context.Background(), []string{"dpkg", "kcovdf-no-such-package"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{"kcovdf-no-such-package"}) {
		t.Errorf("MissingPackages = %q, want only the made-up package", missing)
	}
}

func TestParseOption(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Option
		bad  bool
	}{
		{in: "KUNIT=y", want: Option{"KUNIT", "y"}},
		{in: "CONFIG_LOG_BUF_SHIFT=17", want: Option{"LOG_BUF_SHIFT", "17"}},
		{in: " KASAN=n ", want: Option{"KASAN", "n"}},
		{in: "KUNIT", bad: true},
		{in: "=y", bad: true},
		{in: "KUNIT=", bad: true},
		{in: "kunit=y", bad: true},
		{in: "A B=y", bad: true},
		{in: "CMDLINE=a\nb", bad: true},
	} {
		t.Run(fmt.Sprintf("%q", c.in), func(t *testing.T) {
			got, err := ParseOption(c.in)
			if c.bad != (err != nil) || got != c.want {
				t.Errorf("ParseOption(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.bad)
			}
		})
	}
}
