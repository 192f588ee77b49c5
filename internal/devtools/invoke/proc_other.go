//go:build !linux

package invoke

import (
	"os"
	"syscall"

	"github.com/gotoconnector/gotoconnector/internal/devtools/procfs"
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

func childProcesses(int) []procfs.Proc { return nil }

func killLeftovers(int, []procfs.Proc) {}
