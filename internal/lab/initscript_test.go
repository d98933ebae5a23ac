package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestInitScript(t *testing.T) {
	s := InitScript()
	if !strings.HasPrefix(s, "#!/bin/sh\n") {
		t.Errorf("init does not start with #!/bin/sh: %q", s[:20])
	}
	for _, want := range []string{
		"mount -t proc proc /proc",
		"mount -t sysfs sysfs /sys",
		"mount -t devtmpfs devtmpfs /dev",
		"mount -t debugfs debugfs /sys/kernel/debug",
		"mount -t tmpfs tmpfs /tmp",
		"mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 kcovdf_ctl /ctl",
		"mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 kcovdf_host /host",
		"cd /host",
		"sh /ctl/cmd.sh >/ctl/stdout 2>/ctl/stderr </dev/null",
		`echo "$status" >/ctl/status.tmp && mv /ctl/status.tmp /ctl/status`,
		"setsid cttyhack sh -l",
		"reboot -f",
		"export PATH=/usr/local/bin:",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("init lacks %q", want)
		}
	}
	if strings.Contains(s, "@") {
		t.Errorf("init has an unreplaced placeholder:\n%s", s)
	}
	// Without ACPI, poweroff halts the machine and QEMU never exits.
	if strings.Contains(s, "poweroff") {
		t.Errorf("init powers off instead of rebooting:\n%s", s)
	}
	// The mounts come before the command; debugfs after sysfs.
	if strings.Index(s, "debugfs /sys/kernel/debug") < strings.Index(s, "sysfs /sys") ||
		strings.Index(s, "sh /ctl/cmd.sh") < strings.Index(s, "kcovdf_host /host") {
		t.Error("init mounts in the wrong order")
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		p := filepath.Join(t.TempDir(), "init")
		os.WriteFile(p, []byte(s), 0o755)
		if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
			t.Errorf("sh -n init: %v: %s", err, out)
		}
	}
}

func TestCommandScript(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"kcov_dataflow_test"}, "exec kcov_dataflow_test\n"},
		{[]string{"kcovdf", "record", "--output=trace.kdf", "--", "cat", "/proc/version"},
			"exec kcovdf record --output=trace.kdf -- cat /proc/version\n"},
		{[]string{"sh", "-c", "echo 'hi' $HOME; exit 3"}, `exec sh -c 'echo '\''hi'\'' $HOME; exit 3'` + "\n"},
		{[]string{"printf", "%s\n", ""}, "exec printf '%s\n' ''\n"},
	} {
		if got := CommandScript(c.args); got != c.want {
			t.Errorf("CommandScript(%q) = %q, want %q", c.args, got, c.want)
		}
	}
	// The script gives the program exactly its arguments.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	args := []string{"printf", `[%s]`, "a b", "it's", `$HOME`, "`id`", `"q"`, "", "\n", "*"}
	p := filepath.Join(t.TempDir(), "cmd.sh")
	os.WriteFile(p, []byte(CommandScript(args)), 0o644)
	cmd := exec.Command(sh, p)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "[a b][it's][$HOME][`id`][\"q\"][][\n][*]"
	if string(out) != want {
		t.Errorf("round trip: %q, want %q", out, want)
	}
}

func TestQEMUArgs(t *testing.T) {
	m := Machine{Kernel: &Kernel{BzImage: "/k/bzImage"}, Initramfs: &Initramfs{Path: "/i/initramfs.cpio"}, Append: "kasan.fault=panic"}
	args := QEMUArgs(m, "run", "/r/ctl", "/work dir", "/r/serial.log", false)
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"-machine microvm,acpi=off", "-accel tcg", "-m 1G", "-smp 2", "-kernel /k/bzImage", "-initrd /i/initramfs.cpio",
		"-no-reboot", "-display none", "-chardev file,id=con,path=/r/serial.log", "-serial chardev:con", "-monitor none",
		"-fsdev local,id=ctl,path=/r/ctl,security_model=none", "-device virtio-9p-device,fsdev=ctl,mount_tag=kcovdf_ctl",
		"-fsdev local,id=host,path=/work dir,security_model=none", "-device virtio-9p-device,fsdev=host,mount_tag=kcovdf_host",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("QEMU args lack %q:\n%s", want, joined)
		}
	}
	i := slices.Index(args, "-append")
	if i < 0 || args[i+1] != "console=ttyS0 panic=-1 reboot=t nokaslr kcovdf.mode=run kasan.fault=panic" {
		t.Errorf("-append %q", args[i+1])
	}
	if a := strings.Join(QEMUArgs(m, "run", "/a,b", "/h", "/s", false), " "); !strings.Contains(a, "path=/a,,b,") {
		t.Errorf("comma in a path not escaped: %s", a)
	}
	m.CPUs, m.Memory = 1, "512M"
	inter := strings.Join(QEMUArgs(m, "shell", "/c", "/h", "/s.log", true), " ")
	for _, want := range []string{"-smp 1", "-m 512M", "stdio,id=con,mux=on,signal=off,logfile=/s.log", "kcovdf.mode=shell"} {
		if !strings.Contains(inter, want) {
			t.Errorf("interactive QEMU args lack %q", want)
		}
	}
}
