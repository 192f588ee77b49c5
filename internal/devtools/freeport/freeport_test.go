package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPickReturnsDistinctFreePortsBelowTheEphemeralRange(t *testing.T) {
	lo, hi := candidates()
	ports, err := Pick(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d picked twice: %v", p, ports)
		}
		seen[p] = true
		if p < lo || p >= hi {
			t.Errorf("port %d outside [%d, %d)", p, lo, hi)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}

func TestPickSkipsPortsInUse(t *testing.T) {
	// Hold most of a tiny window and check Pick never returns a held port.
	ports, err := Pick(20)
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Listener
	inUse := map[int]bool{}
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		held = append(held, l)
		inUse[p] = true
	}
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 20 {
		again, err := Pick(2)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range again {
			if inUse[p] {
				t.Fatalf("Pick returned port %d, which is in use", p)
			}
		}
	}
}
