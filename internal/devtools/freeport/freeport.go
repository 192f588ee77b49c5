// Package freeport picks TCP ports of 127.0.0.1 for programs that bind them
// themselves (the Lambda Runtime Interface Emulator, DynamoDB Local).
//
// A port found free by binding port 0 comes from the kernel's ephemeral
// range, the same range every outgoing connection on the machine takes its
// local port from: between the pick and the program's own bind, any
// connection can take it ("address already in use"). Ports are therefore
// picked at random below the ephemeral range, where only programs that
// choose a port explicitly bind, and checked free.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// The window below the ephemeral range that ports are drawn from.
const window = 12000

// Pick returns n distinct ports of 127.0.0.1 that are free now. A port is
// still not reserved: callers that bind it later should retry with new
// ports when the bind fails.
func Pick(n int) ([]int, error) {
	lo, hi := candidates()
	var (
		ports []int
		held  []net.Listener
	)
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n && tries < 200; tries++ {
		p := lo + rand.IntN(hi-lo)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue // in use, or held by an earlier pick of this call
		}
		held = append(held, l)
		ports = append(ports, p)
	}
	// Nothing free below the ephemeral range: let the kernel choose.
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// candidates returns [lo, hi): the window just below the ephemeral range
// (Linux: /proc/sys/net/ipv4/ip_local_port_range, 32768 by default).
func candidates() (lo, hi int) {
	hi = 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 2048 {
				hi = v
			}
		}
	}
	lo = max(hi-window, 1024)
	return lo, hi
}
