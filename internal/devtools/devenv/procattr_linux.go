package devenv

import "syscall"

// processGroupAttr puts the child in its own process group, so that Close
// can signal it and its children at once, and kills it if the parent dies
// without calling Close (a test binary that panics or times out).
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
