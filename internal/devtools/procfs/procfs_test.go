package procfs

import (
	"os"
	"os/exec"
	"testing"
)

func TestStatChildrenTree(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := Of(cmd.Process.Pid)
	if !child.Running() {
		t.Fatal("a started child is not running")
	}
	found := false
	for _, c := range Children(os.Getpid()) {
		found = found || c == child
	}
	inTree := false
	for _, c := range Tree(os.Getpid()) {
		inTree = inTree || c == child
	}
	if !found || !inTree {
		t.Fatalf("child %v: in Children %v, in Tree %v", child, found, inTree)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if child.Running() {
		t.Fatal("a killed and reaped child still runs")
	}
}
