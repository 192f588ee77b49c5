//go:build unix

package devenv

import (
	"errors"
	"os"
	"syscall"
)

// signalGroup sends SIGTERM (or SIGKILL if kill) to the process group led by p.
func signalGroup(p *os.Process, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	return syscall.Kill(-p.Pid, sig)
}

// killGroupID sends SIGKILL to what is left of process group pgid, if any.
func killGroupID(pgid int) error {
	err := syscall.Kill(-pgid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
