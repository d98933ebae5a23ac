package lab

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Option is one Kconfig symbol (without the CONFIG_ prefix) and the value
// the lab wants: "y", "n", or a literal such as a number.
type Option struct {
	Name  string
	Value string
}

func (o Option) String() string { return "CONFIG_" + o.Name + "=" + o.Value }

// ParseOption reads NAME=VALUE (an optional CONFIG_ prefix is dropped).
func ParseOption(s string) (Option, error) {
	name, value, ok := strings.Cut(strings.TrimSpace(s), "=")
	name = strings.TrimPrefix(name, "CONFIG_")
	if !ok || name == "" || value == "" {
		return Option{}, fmt.Errorf("%q: want NAME=VALUE, as in KUNIT=y", s)
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return Option{}, fmt.Errorf("%q: %q is not a Kconfig symbol (capitals, digits and _)", s, name)
		}
	}
	if strings.ContainsAny(value, "\n") {
		return Option{}, fmt.Errorf("%q: the value has a line break", s)
	}
	return Option{name, value}, nil
}

// baseOptions is what a kernel needs on top of tinyconfig to boot the lab's
// guest and serve kcov dataflow. The guest is QEMU's microvm machine
// (see QEMUArgs): no firmware tables and no PCI, so neither ACPI nor PCI
// is built, about 250 of the 1,400 kbuild steps a pc machine's kernel
// takes.
var baseOptions = []string{
	// Boot to a busybox initramfs on a serial console.
	"64BIT", "PRINTK", "PRINTK_TIME", "TTY", "SERIAL_8250", "SERIAL_8250_CONSOLE",
	"DEVTMPFS", "DEVTMPFS_MOUNT", "BLK_DEV_INITRD", "BINFMT_ELF", "BINFMT_SCRIPT",
	"PROC_FS", "SYSFS", "MULTIUSER", "FUTEX", "SHMEM", "TMPFS", "SMP",
	// The Go runtime needs epoll and eventfd (netpoller), and timers.
	"EPOLL", "EVENTFD", "TIMERFD", "SIGNALFD", "POSIX_TIMERS",
	// Reports worth scanning for: tinyconfig turns BUG()/WARN() off.
	"BUG", "KALLSYMS",
	// Coverage and its debugfs files. KCOV_INSTRUMENT_ALL keeps classic
	// kcov working beside dataflow, and its -fsanitize-coverage flag is what
	// brings __no_sanitize_coverage into the IR the plugin reads.
	"DEBUG_FS", "KCOV", "KCOV_INSTRUMENT_ALL",
	// Debug info: parameter names, struct members, line numbers.
	"DEBUG_KERNEL", "DEBUG_INFO_DWARF5",
	// The host share: 9p over virtio-mmio, whose devices QEMU lists on the
	// kernel command line (virtio_mmio.device=).
	"NET", "NET_9P", "NET_9P_VIRTIO", "NETWORK_FILESYSTEMS", "9P_FS", "VIRTIO_MENU", "VIRTIO",
	"VIRTIO_MMIO", "VIRTIO_MMIO_CMDLINE_DEVICES",
}

// offOptions are checked to be off: the microvm guest has no use for them
// and they are a large part of a build.
var offOptions = []string{"ACPI", "PCI"}

// dataflowOptions turn on the kernel side of kcov dataflow and its KUnit
// suite, which runs at every boot (a failed case is a finding); they exist
// only once the kernel patch series is applied.
var dataflowOptions = []string{
	"KCOV_DATAFLOW_ARGS", "KCOV_DATAFLOW_RET",
	"KUNIT", "KUNIT_DEFAULT_ENABLED", "KCOV_DATAFLOW_KUNIT_TEST",
}

// kasanOptions turn on the generic KASAN (inline checks: faster under TCG)
// and lockdep, and pid namespaces, which tinyconfig leaves out: the follow
// mode takes a reference on its root's namespace and gives ids in it, code
// that is a no-op without them.
var kasanOptions = []Option{
	{"SLUB_TINY", "n"}, // KASAN depends on !SLUB_TINY
	{"KASAN", "y"}, {"KASAN_GENERIC", "y"}, {"KASAN_INLINE", "y"},
	{"STACKTRACE", "y"}, {"PROVE_LOCKING", "y"},
	{"NAMESPACES", "y"}, {"PID_NS", "y"},
}

// KernelOptions select the kernel variant.
type KernelOptions struct {
	// KASAN adds the generic KASAN and lockdep (PROVE_LOCKING).
	KASAN bool
	// Instrument selects the objects the dataflow plugin instruments:
	// "default" (or ""), "all", "none", or a space-separated list of object
	// path prefixes such as "fs/ mm/ lib/string.o".
	Instrument string
	// Extra are further Kconfig options.
	Extra []Option
	// MaxFields caps the fields the plugin expands per structure
	// (KCOV_DATAFLOW_MAX_FIELDS); 0 expands them all.
	MaxFields int
}

// DefaultSelect is the instrumentation selection of "default": real syscall
// paths. The kernel patch itself keeps kcov, the scheduler core and the
// no-fault copy out of instrumentation.
const DefaultSelect = "fs/ mm/ kernel/ lib/string.o"

// Selection resolves Instrument: whether the plugin is used at all and the
// prefix list passed as KCOV_DATAFLOW_SELECT ("" for "all", which sets
// CONFIG_KCOV_DATAFLOW_INSTRUMENT_ALL instead).
func (o KernelOptions) Selection() (plugin bool, sel string, err error) {
	switch strings.TrimSpace(o.Instrument) {
	case "", "default":
		return true, DefaultSelect, nil
	case "all":
		return true, "", nil
	case "none":
		return false, "", nil
	}
	fields := strings.Fields(o.Instrument)
	for _, f := range fields {
		if strings.HasPrefix(f, "/") || strings.Contains(f, "..") {
			return false, "", fmt.Errorf("lab: --instrument: %q is not an object path prefix relative to the kernel tree (like fs/ or lib/string.o)", f)
		}
	}
	return true, strings.Join(fields, " "), nil
}

// variant names the object directory a kernel is built in: variants that
// differ only by small config changes or patches share one, so that kbuild
// rebuilds only what changed.
func (o KernelOptions) variant() string {
	if o.KASAN {
		return "kasan"
	}
	return "plain"
}

// WantedOptions lists the options a kernel of these options must have;
// dataflow says whether the kcov dataflow options are included.
func (o KernelOptions) WantedOptions(dataflow bool) []Option {
	var opts []Option
	for _, n := range baseOptions {
		opts = append(opts, Option{n, "y"})
	}
	for _, n := range offOptions {
		opts = append(opts, Option{n, "n"})
	}
	if dataflow {
		for _, n := range dataflowOptions {
			opts = append(opts, Option{n, "y"})
		}
		if strings.TrimSpace(o.Instrument) == "all" {
			// "all" is the series' Kconfig switch, not a prefix list.
			opts = append(opts, Option{"KCOV_DATAFLOW_INSTRUMENT_ALL", "y"})
		}
	}
	if o.KASAN {
		opts = append(opts, kasanOptions...)
	}
	opts = append(opts, o.Extra...)
	return opts
}

// ConfigFragment renders options as .config lines.
func ConfigFragment(opts []Option) string {
	var b strings.Builder
	for _, o := range opts {
		if o.Value == "n" {
			fmt.Fprintf(&b, "# CONFIG_%s is not set\n", o.Name)
		} else {
			fmt.Fprintf(&b, "CONFIG_%s=%s\n", o.Name, o.Value)
		}
	}
	return b.String()
}

// ParseConfig reads a .config into a map from symbol (without CONFIG_) to
// value; symbols that are "not set" map to "n".
func ParseConfig(r io.Reader) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "# CONFIG_"); ok {
			if name, ok := strings.CutSuffix(rest, " is not set"); ok {
				m[name] = "n"
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, "CONFIG_"); ok {
			if name, val, ok := strings.Cut(rest, "="); ok {
				m[name] = val
			}
		}
	}
	return m, sc.Err()
}

// MissingOptions returns the wanted options that the final configuration
// does not have, sorted, each as "NAME=want (got VALUE)".
func MissingOptions(wanted []Option, got map[string]string) []string {
	var missing []string
	for _, o := range wanted {
		v, ok := got[o.Name]
		if !ok && o.Value == "n" {
			continue // an invisible symbol is off
		}
		if !ok {
			v = "absent"
		}
		if v != o.Value {
			missing = append(missing, fmt.Sprintf("%s=%s (got %s)", o.Name, o.Value, v))
		}
	}
	sort.Strings(missing)
	return missing
}
