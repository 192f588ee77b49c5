package invoke

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// processGroupAttr starts the emulator in a process group of its own, so
// that Close can signal it and what it started, and kills it if the process
// that started it dies without calling Close (a test binary that times out,
// a `make invoke` killed hard).
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// terminate sends SIGTERM (SIGKILL if kill) to the process group led by p.
func terminate(p *os.Process, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	return syscall.Kill(-p.Pid, sig)
}

// proc identifies a process across pid reuse.
type proc struct {
	pid   int
	start string // start time in clock ticks since boot (/proc/<pid>/stat field 22)
}

// childProcesses lists the children of pid. The emulator starts the runtime
// (the bootstrap) in a process group of its own, so signalling the
// emulator's group does not reach it.
func childProcesses(pid int) []proc {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []proc
	for _, path := range stats {
		ppid, start, ok := readStat(path)
		if ok && ppid == pid {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			out = append(out, proc{pid: child, start: start})
		}
	}
	return out
}

// readStat returns the parent pid and start time of /proc/<pid>/stat.
func readStat(path string) (ppid int, start string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return 0, "", false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[19], err == nil
}

// killLeftovers kills what may remain once the emulator has exited: its
// process group, and the groups of the runtimes it started, if they are
// still the same processes.
func killLeftovers(pid int, children []proc) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for _, c := range children {
		_, start, ok := readStat("/proc/" + strconv.Itoa(c.pid) + "/stat")
		if !ok || start != c.start {
			continue // gone, or the pid was reused
		}
		_ = syscall.Kill(-c.pid, syscall.SIGKILL)
		_ = syscall.Kill(c.pid, syscall.SIGKILL)
	}
}
