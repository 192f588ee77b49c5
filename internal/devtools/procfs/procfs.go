// Package procfs reads Linux's /proc for the local tools and tests that must
// find and stop the processes they started (the emulator's runtimes,
// Chromium's helpers). A process is told apart from a later one with the
// same pid by its start time.
package procfs

import (
	"os"
	"strconv"
	"strings"
)

// Proc is a process: its pid and its start time (field 22 of
// /proc/<pid>/stat, clock ticks since boot).
type Proc struct {
	PID   int
	Start string
}

// String is the pid.
func (p Proc) String() string { return strconv.Itoa(p.PID) }

// Stat reads /proc/<pid>/stat: the parent pid, the start time and the
// state letter ('Z' for a zombie). ok is false when the process is gone.
func Stat(pid int) (ppid int, start string, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", 0, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 || len(f[0]) == 0 {
		return 0, "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[19], f[0][0], err == nil
}

// Of returns the running process pid, or a zero Proc when it is gone.
func Of(pid int) Proc {
	if _, start, _, ok := Stat(pid); ok {
		return Proc{PID: pid, Start: start}
	}
	return Proc{}
}

// Running reports whether p still runs: the same process (same start time)
// and not a zombie waiting to be reaped.
func (p Proc) Running() bool {
	_, start, state, ok := Stat(p.PID)
	return ok && start == p.Start && state != 'Z'
}

// Children lists the processes whose parent is pid.
func Children(pid int) []Proc {
	var out []Proc
	for _, p := range all() {
		if p.ppid == pid {
			out = append(out, p.Proc)
		}
	}
	return out
}

// Tree returns root and all its descendants.
func Tree(root int) []Proc {
	children := map[int][]Proc{}
	for _, p := range all() {
		children[p.ppid] = append(children[p.ppid], p.Proc)
	}
	tree := []Proc{Of(root)}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i].PID]...)
	}
	return tree
}

type entry struct {
	Proc
	ppid int
}

// all reads every process of /proc.
func all() []entry {
	dirs, _ := os.ReadDir("/proc")
	var out []entry
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if ppid, start, _, ok := Stat(pid); ok {
			out = append(out, entry{Proc{pid, start}, ppid})
		}
	}
	return out
}
