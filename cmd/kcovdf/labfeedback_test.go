package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kcovdf/kcovdf/abi"
)

// TestGuestLayout: the guest gets the vmlinux's own records with their
// addresses, and the JSON Lines file only when the image has none.
func TestGuestLayout(t *testing.T) {
	img := filepath.Join("..", "..", "abi", "testdata", "layoutelf", "layout.elf")
	b, err := guestLayout(img, filepath.Join(t.TempDir(), "missing.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := abi.ReadLayout(bytes.NewReader(b), "guest.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Funcs) == 0 {
		t.Fatal("no records from the image")
	}
	for i := range l.Funcs {
		if pc, ok, err := l.Funcs[i].Addr(); err != nil || !ok || pc == 0 {
			t.Errorf("%s: no address (%v, %v)", l.Funcs[i].Func, ok, err)
		}
	}

	jsonl := filepath.Join(t.TempDir(), "layout.jsonl")
	want := []byte(`{"func":"f","args":[]}` + "\n")
	if err := os.WriteFile(jsonl, want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, image := range []string{filepath.Join(t.TempDir(), "none"), jsonl} {
		got, err := guestLayout(image, jsonl)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("image %s: got %q, %v; want the JSON Lines file", image, got, err)
		}
	}
	if _, err := guestLayout(img+".none", jsonl+".none"); err == nil {
		t.Error("no image and no file: no error")
	}
}
