//go:build unix && !linux

package devenv

import "syscall"

// processGroupAttr puts the child in its own process group, so that Close
// can signal it and its children at once.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
