//go:build !unix

package devenv

import (
	"os"
	"syscall"
)

// processGroupAttr returns nil: process groups are a Unix feature.
func processGroupAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills p (there is no process group and no SIGTERM here).
func signalGroup(p *os.Process, _ bool) error { return p.Kill() }

// killGroupID does nothing: there is no process group here.
func killGroupID(int) error { return nil }
