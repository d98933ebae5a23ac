package lab

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A guest program compiles once per content: the second build is the
// cached binary, a changed source a new one.
func TestBuildProgramCached(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	repo := t.TempDir()
	src := filepath.Join(repo, "hello.c")
	write := func(s string) {
		if err := os.WriteFile(src, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("#include <stdio.h>\nint main(void) { puts(\"one\"); return 0; }\n")
	l, err := New(Config{RepoDir: repo, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p := GuestProgram{Source: "hello.c", Name: "hello"}
	log := filepath.Join(t.TempDir(), "build.log")
	ctx := context.Background()
	first, err := l.buildProgram(ctx, p, log)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(first).Output()
	if err != nil || string(out) != "one\n" {
		t.Fatalf("the program prints %q (%v), want \"one\\n\"", out, err)
	}
	st, _ := os.Stat(first)
	again, err := l.buildProgram(ctx, p, log)
	if err != nil || again != first {
		t.Fatalf("second build: %s %v, want the cached %s", again, err, first)
	}
	if st2, _ := os.Stat(again); !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("the cached binary was compiled again")
	}
	if logData, _ := os.ReadFile(log); bytes.Count(logData, []byte("+ gcc")) != 1 {
		t.Fatalf("gcc ran %d times, want once:\n%s", bytes.Count(logData, []byte("+ gcc")), logData)
	}
	write("#include <stdio.h>\nint main(void) { puts(\"two\"); return 0; }\n")
	changed, err := l.buildProgram(ctx, p, log)
	if err != nil || changed == first {
		t.Fatalf("changed source: %s %v, want a new binary", changed, err)
	}
	if out, _ := exec.Command(changed).Output(); string(out) != "two\n" {
		t.Fatalf("the changed program prints %q", out)
	}
}

// A program that does not compile names its step and log.
func TestBuildProgramError(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	repo := t.TempDir()
	os.WriteFile(filepath.Join(repo, "bad.c"), []byte("int main(void) { return x; }\n"), 0o644)
	l, err := New(Config{RepoDir: repo, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.buildProgram(context.Background(), GuestProgram{Source: "bad.c", Name: "bad"}, filepath.Join(t.TempDir(), "build.log"))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("compile bad.c")) {
		t.Fatalf("error %v, want the failed step named", err)
	}
	if _, err := l.buildProgram(context.Background(), GuestProgram{Source: "missing.c", Name: "m"}, filepath.Join(t.TempDir(), "build.log")); err == nil {
		t.Fatal("a missing source compiled")
	}
}

// Every listed program is in the tree and compiles as the lab compiles it.
func TestGuestProgramsCompile(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	wd, _ := os.Getwd()
	repo, err := FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Config{RepoDir: repo, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range GuestPrograms {
		if names[p.Name] {
			t.Errorf("two guest programs named %s", p.Name)
		}
		names[p.Name] = true
		if _, err := l.buildProgram(context.Background(), p, filepath.Join(t.TempDir(), "build.log")); err != nil {
			t.Errorf("%s: %v", p.Source, err)
		}
	}
}
