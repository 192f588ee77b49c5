package devenv

import (
	"fmt"
	"net"
	"strconv"

	"github.com/gotoconnector/gotoconnector/internal/devtools/freeport"
)

// choosePort returns port if it is free on 127.0.0.1, or a free port if port
// is zero.
func choosePort(port int) (int, error) {
	if port == 0 {
		ports, err := freeport.Pick(1)
		if err != nil {
			return 0, fmt.Errorf("devenv: picking a free port for DynamoDB Local: %w", err)
		}
		return ports[0], nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("devenv: port %d for DynamoDB Local is not free: %w", port, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
