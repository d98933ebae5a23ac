package lab

import (
	"strings"
)

// Guest-side names shared by the init script and the host.
const (
	// ctlTag and hostTag are the 9p mount tags of the control share
	// (command, output, status) and the host working directory.
	ctlTag  = "kcovdf_ctl"
	hostTag = "kcovdf_host"
	// GuestWorkDir is where the host directory appears in the guest; run's
	// command starts there.
	GuestWorkDir = "/host"
	// GuestCtlDir is the control share in the guest; a file the command
	// writes there is Result.CtlFile on the host.
	GuestCtlDir = "/ctl"
	// readyMarker is printed on the console once the shares are mounted and
	// the command is about to start; the host times the boot by it.
	readyMarker  = "kcovdf-init: ready"
	statusMarker = "kcovdf-init: status "
	// GuestBinDir holds the kcovdf binaries and the selftest in the guest.
	GuestBinDir = "/usr/local/bin"
)

// InitScript returns the guest's /init. It mounts the pseudo file systems
// and the two 9p shares, then, by the kernel command line's kcovdf.mode:
//
//	run   runs /ctl/cmd.sh in /host with stdout and stderr in /ctl/stdout and
//	      /ctl/stderr, and writes its exit status to /ctl/status;
//	shell starts an interactive shell on the console;
//
// and finally reboots, which ends QEMU (-no-reboot): the machine has no
// ACPI to power off with, and "poweroff -f" would halt it for good.
func InitScript() string {
	r := strings.NewReplacer(
		"@CTL@", GuestCtlDir, "@HOST@", GuestWorkDir,
		"@CTLTAG@", ctlTag, "@HOSTTAG@", hostTag,
		"@READY@", readyMarker, "@STATUS@", statusMarker, "@BIN@", GuestBinDir)
	return r.Replace(initTemplate)
}

const initTemplate = `#!/bin/sh
# Lab guest init: mount, run the host's command, report, end QEMU.
export PATH=@BIN@:/usr/bin:/bin:/usr/sbin:/sbin
export HOME=/root TERM=linux

say() { echo "kcovdf-init: $*" >/dev/console; }
off() {
	sync
	umount @HOST@ 2>/dev/null
	umount @CTL@ 2>/dev/null
	reboot -f
}
fail() { say "error: $*"; off; }

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t debugfs debugfs /sys/kernel/debug || fail "mount debugfs on /sys/kernel/debug"
mount -t tmpfs tmpfs /tmp || fail "mount /tmp"
mount -t tmpfs tmpfs /run || fail "mount /run"
mount -t tmpfs tmpfs /dev/shm

mode=run
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	kcovdf.mode=*) mode="${arg#kcovdf.mode=}" ;;
	esac
done

mkdir -p @CTL@ @HOST@
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 @CTLTAG@ @CTL@ ||
	fail "mount the 9p share @CTLTAG@ on @CTL@ (kernel without 9P_FS/NET_9P_VIRTIO?)"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 @HOSTTAG@ @HOST@ ||
	fail "mount the 9p share @HOSTTAG@ on @HOST@"
cd @HOST@ || fail "cd @HOST@"
say "ready"

case "$mode" in
run)
	sh @CTL@/cmd.sh >@CTL@/stdout 2>@CTL@/stderr </dev/null
	status=$?
	echo "$status" >@CTL@/status.tmp && mv @CTL@/status.tmp @CTL@/status
	say "status $status"
	;;
shell)
	echo "kcovdf lab shell: working directory @HOST@ is the host's; exit to end the machine"
	setsid cttyhack sh -l
	;;
*)
	say "unknown mode $mode"
	;;
esac
off
`

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// CommandScript returns the /ctl/cmd.sh that runs args (a program and its
// arguments, not a shell line: use sh -c for one).
func CommandScript(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return "exec " + strings.Join(q, " ") + "\n"
}
