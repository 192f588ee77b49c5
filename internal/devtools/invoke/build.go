package invoke

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// HostArch is the GOARCH bootstraps are built for to run on this machine.
var HostArch = runtime.GOARCH

// Build builds the bootstrap of function logicalID into dir with the
// Makefile target `sam build` runs for it,
//
//	make build-<LogicalId> ARTIFACTS_DIR=<dir> LAMBDA_GOARCH=<HostArch>
//
// so it is the deployed bootstrap (same package, same flags), built for
// this machine's architecture instead of arm64. make's output goes to out.
// It returns the bootstrap's path.
func Build(ctx context.Context, root, logicalID, dir string, out io.Writer) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if out == nil {
		out = io.Discard
	}
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root,
		"build-"+logicalID, "ARTIFACTS_DIR="+dir, "LAMBDA_GOARCH="+HostArch)
	cmd.Env = withoutMakeFlags(os.Environ())
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make build-%s ARTIFACTS_DIR=%s LAMBDA_GOARCH=%s: %w", logicalID, dir, HostArch, err)
	}
	bootstrap := filepath.Join(dir, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return "", fmt.Errorf("make build-%s did not produce %s", logicalID, bootstrap)
	}
	return bootstrap, nil
}

// withoutMakeFlags drops the variables an outer make passes down (its
// jobserver, -n, ...), so the inner make runs on its own.
func withoutMakeFlags(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		out = append(out, kv)
	}
	return out
}
