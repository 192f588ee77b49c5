package devenv

import (
	"fmt"
	"net"
	"strconv"
)

// choosePort returns port if it is free on 127.0.0.1, or a free port if port
// is zero.
func choosePort(port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if port != 0 {
			return 0, fmt.Errorf("devenv: port %d for DynamoDB Local is not free: %w", port, err)
		}
		return 0, fmt.Errorf("devenv: picking a free port for DynamoDB Local: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
