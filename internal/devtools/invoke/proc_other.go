//go:build !linux

package invoke

import (
	"os"
	"syscall"
)

// The Lambda Runtime Interface Emulator runs on Linux only; elsewhere the
// emulator is stopped as a single process.

func processGroupAttr() *syscall.SysProcAttr { return nil }

func terminate(p *os.Process, kill bool) error {
	if kill {
		return p.Kill()
	}
	return p.Signal(os.Interrupt)
}

type proc struct{}

func childProcesses(int) []proc { return nil }

func killLeftovers(int, []proc) {}
