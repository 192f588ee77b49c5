package invoke

import (
	"os"
	"syscall"

	"github.com/gotoconnector/gotoconnector/internal/devtools/procfs"
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

// childProcesses lists the children of pid. The emulator starts the runtime
// (the bootstrap) in a process group of its own, so signalling the
// emulator's group does not reach it.
func childProcesses(pid int) []procfs.Proc { return procfs.Children(pid) }

// killLeftovers kills what may remain once the emulator has exited: its
// process group, and the groups of the runtimes it started, if they are
// still the same processes.
func killLeftovers(pid int, children []procfs.Proc) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for _, c := range children {
		if !c.Running() {
			continue // gone, or the pid was reused
		}
		_ = syscall.Kill(-c.PID, syscall.SIGKILL)
		_ = syscall.Kill(c.PID, syscall.SIGKILL)
	}
}
