//go:build unix

package devenv

import (
	"errors"
	"fmt"
	"syscall"
)

// processGone reports an error if process pid or its process group exists.
func processGone(pid int) error {
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("java pid %d still exists after Close (kill -0: %v)", pid, err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("process group %d still exists after Close (kill -0: %v)", pid, err)
	}
	return nil
}
