package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The generated section is replaced in place, with the fragments in the
// order of their names; the text around it stays.
func TestRunSplicesFragmentsBetweenMarkers(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "BENCHMARKS.md")
	os.WriteFile(out, []byte("# Title\n\n"+Begin+"\nold figures\n"+End+"\n\n## After\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "20-b.md"), []byte("second\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "10-a.md"), []byte("first\n"), 0o644)
	if err := run(dir, out, "the machine", "make bench", 75); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	s := string(got)
	for _, want := range []string{"# Title\n\n" + Begin, "took **1m15s**", "Machine: the machine", End + "\n\n## After\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
	if strings.Contains(s, "old figures") || strings.Index(s, "first") > strings.Index(s, "second") || strings.Index(s, "first") < 0 {
		t.Errorf("fragments not spliced in order:\n%s", s)
	}
	// Twice in a row gives one section.
	if err := run(dir, out, "the machine", "make bench", 75); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(out)
	if strings.Count(string(again), Begin) != 1 || strings.Count(string(again), "second") != 1 {
		t.Errorf("second run duplicated the section:\n%s", again)
	}
}

func TestRunRefusesAFileWithoutTheSection(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "BENCHMARKS.md")
	os.WriteFile(out, []byte("# no markers\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "10-a.md"), []byte("first\n"), 0o644)
	if err := run(dir, out, "", "make bench", 1); err == nil {
		t.Fatal("no error for a file without the generated section")
	}
}
