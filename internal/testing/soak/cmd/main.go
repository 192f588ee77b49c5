// Command soak is `make soak`: the fault soak of internal/testing/soak. Run
// without SOAK_ROLE it orchestrates a whole soak and exits 1 when the audit
// fails; the orchestrator re-executes it with SOAK_ROLE set for the sweep and
// TokenSource processes.
package main

import (
	"fmt"
	"os"

	"github.com/gotoconnector/gotoconnector/internal/testing/soak"
)

func main() {
	run := soak.Run
	if soak.IsChild() {
		run = soak.RunChild
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}
