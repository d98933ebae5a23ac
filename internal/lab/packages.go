package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Packages lists the Debian packages the lab needs on the host.
var Packages = []string{
	"clang-19", "llvm-19", "llvm-19-dev", "lld-19",
	"linux-source-6.12", "qemu-system-x86", "busybox-static", "cpio",
	"flex", "bison", "libelf-dev", "bc", "libssl-dev", "dwarves", "gcc", "make",
	// The compiler plugin's tests also run on aarch64, under qemu-user.
	"qemu-user", "libc6-dev-arm64-cross", "libgcc-12-dev-arm64-cross",
}

// MissingPackages returns the packages of want that dpkg does not report
// as installed.
func MissingPackages(ctx context.Context, want []string) ([]string, error) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		return nil, fmt.Errorf("dpkg-query not found: the lab needs a Debian host (packages: %s)", strings.Join(want, " "))
	}
	// One query for all; dpkg-query exits non-zero when it has never heard
	// of one of them but still reports the others.
	args := append([]string{"-W", "-f=${Package} ${db:Status-Status}\n"}, want...)
	out, _ := exec.CommandContext(ctx, "dpkg-query", args...).Output()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	installed := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == "installed" {
			installed[strings.SplitN(f[0], ":", 2)[0]] = true
		}
	}
	var missing []string
	for _, p := range want {
		if !installed[p] {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// EnsurePackages installs the packages of Packages that are missing, with
// one apt-get update and one apt-get install. It does nothing when all are
// installed.
func (l *Lab) EnsurePackages(ctx context.Context) error {
	missing, err := MissingPackages(ctx, Packages)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab: missing Debian packages %s; install them as root: apt-get install -y %s",
			strings.Join(missing, " "), strings.Join(missing, " "))
	}
	step := l.progress.Begin("packages")
	log := filepath.Join(l.cache, "apt.log")
	if err := os.MkdirAll(l.cache, 0o755); err != nil {
		return err
	}
	c := command{op: "lab build", step: "apt-get install", log: log,
		env: []string{"DEBIAN_FRONTEND=noninteractive"}}
	if err := c.run(ctx, "apt-get", "update"); err != nil {
		return err
	}
	if err := c.run(ctx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, missing...)...); err != nil {
		return err
	}
	step.End("installed " + strings.Join(missing, " "))
	return nil
}

// packageVersion returns the installed version of a Debian package.
func packageVersion(ctx context.Context, pkg string) (string, error) {
	v, err := output(ctx, "dpkg-query", "-W", "-f=${Version}", pkg)
	if err != nil {
		return "", fmt.Errorf("version of %s: %w (is it installed? try \"kcovdf lab build\" as root)", pkg, err)
	}
	return v, nil
}
