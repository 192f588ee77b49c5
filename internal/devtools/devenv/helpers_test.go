package devenv

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// checkStopped reports an error if a DynamoDB that ran the jar left a
// process behind or still holds its port.
func checkStopped(d *DynamoDB) error {
	p, ok := d.backend.(*jarProcess)
	if !ok {
		return nil // external endpoint or Docker: no local process to check
	}
	pid := p.cmd.Process.Pid
	if err := processGone(pid); err != nil {
		return err
	}
	port := d.Endpoint()[strings.LastIndex(d.Endpoint(), ":")+1:]
	out, err := exec.Command("pgrep", "-f", "DynamoDBLocal.jar -inMemory -port "+port+"$").CombinedOutput()
	if err == nil {
		return fmt.Errorf("pgrep still finds DynamoDB Local on port %s: %s", port, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return fmt.Errorf("port %s not freed after Close: %v", port, err)
	}
	l.Close()
	return nil
}
